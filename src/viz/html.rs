//! The embeddings as one self-contained HTML page: t-SNE and UMAP as inline SVG, every point a
//! circle coloured by class; hovering one shows its image (an inline PNG) and its labels. No
//! external scripts, styles or fonts. The markup is also well-formed XML.

use super::class_color;

/// One point's hover content.
pub struct Point<'a> {
    pub label: u32,
    /// The model's prediction, when known.
    pub predicted: Option<u32>,
    /// A PNG data URI.
    pub image: &'a str,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn svg(title: &str, coords: &[[f32; 2]], points: &[Point<'_>], side: f64) -> String {
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in coords {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    let sx = (side - 20.0) / ((x1 - x0) as f64).max(1e-9);
    let sy = (side - 20.0) / ((y1 - y0) as f64).max(1e-9);
    let mut out = format!(
        "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{side}\" height=\"{side}\" viewBox=\"0 0 {side} {side}\">\n",
        escape(title)
    );
    for (i, (c, p)) in coords.iter().zip(points).enumerate() {
        let col = class_color(p.label as usize);
        out += &format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"rgb({},{},{})\" data-i=\"{i}\"/>\n",
            10.0 + (c[0] - x0) as f64 * sx,
            10.0 + (y1 - c[1]) as f64 * sy,
            col.0,
            col.1,
            col.2
        );
    }
    out + "</svg></figure>\n"
}

/// The page: `tsne` and `umap` coordinates of `points`, class `names`.
pub fn embeddings_html(
    title: &str,
    tsne: &[[f32; 2]],
    umap: &[[f32; 2]],
    points: &[Point<'_>],
    names: &[String],
) -> String {
    let name = |c: u32| {
        names
            .get(c as usize)
            .cloned()
            .unwrap_or_else(|| c.to_string())
    };
    let mut legend = String::new();
    let classes = points.iter().map(|p| p.label + 1).max().unwrap_or(0);
    for c in 0..classes {
        let col = class_color(c as usize);
        legend += &format!(
            "<li><span class=\"dot\" style=\"background: rgb({},{},{})\"></span>{}</li>",
            col.0,
            col.1,
            col.2,
            escape(&name(c))
        );
    }
    // Per point: [image, "true: … / predicted: …"], as a JSON array (no '<' inside).
    let data: Vec<serde_json::Value> = points
        .iter()
        .map(|p| {
            let mut text = format!("true: {}", name(p.label));
            if let Some(q) = p.predicted {
                text += &format!(" / predicted: {}", name(q));
            }
            serde_json::json!([p.image, text])
        })
        .collect();
    let data = serde_json::to_string(&data)
        .expect("strings serialise")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e");
    format!(
        r#"<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 16px; }}
.panels {{ display: flex; flex-wrap: wrap; gap: 16px; }}
figure {{ margin: 0; }}
figcaption {{ font-weight: bold; margin-bottom: 4px; }}
svg {{ border: 1px solid #ccc; }}
circle:hover {{ stroke: black; stroke-width: 2; }}
ul.legend {{ list-style: none; padding: 0; columns: 2; }}
.dot {{ display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 6px; }}
#tip {{ position: fixed; display: none; background: white; border: 1px solid #888; padding: 6px; pointer-events: none; }}
#tip img {{ display: block; width: 96px; image-rendering: pixelated; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{n} test images; hover a point to see it.</p>
<div class="panels">
{tsne}{umap}</div>
<ul class="legend">{legend}</ul>
<div id="tip"><img id="tip-img" alt=""/><div id="tip-text"></div></div>
<script>
//<![CDATA[
const points = {data};
const tip = document.getElementById("tip");
document.querySelectorAll("circle").forEach(function (c) {{
  c.addEventListener("mouseenter", function (e) {{
    const p = points[Number(c.dataset.i)];
    document.getElementById("tip-img").src = p[0];
    document.getElementById("tip-text").textContent = p[1];
    tip.style.display = "block";
  }});
  c.addEventListener("mousemove", function (e) {{
    tip.style.left = (e.clientX + 14) + "px";
    tip.style.top = (e.clientY + 14) + "px";
  }});
  c.addEventListener("mouseleave", function () {{ tip.style.display = "none"; }});
}});
//]]>
</script>
</body>
</html>
"#,
        title = escape(title),
        n = points.len(),
        tsne = svg("t-SNE", tsne, points, 600.0),
        umap = svg("UMAP", umap, points, 600.0),
    )
}
