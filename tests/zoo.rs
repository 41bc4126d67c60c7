//! The model zoo's architectures against torchvision's: parameter counts, state_dict entries
//! and names, the shapes of the maps (the figures were read from torchvision 0.29 on
//! 2026-12-02: `sum(p.numel() for p in m.parameters())`, `len(m.state_dict())`).

use cnngpu::nn::models;
use cnngpu::nn::{Graph, LayerKind};

fn parameters(g: &Graph) -> usize {
    g.parameters()
        .iter()
        .map(|(_, s, _)| s.iter().product::<usize>())
        .sum()
}

fn shape_of(g: &Graph, name: &str) -> [usize; 3] {
    g.layers.iter().find(|l| l.name == name).unwrap().out_shape
}

/// torchvision.models.googlenet(num_classes=10, aux_logits=False): 5,610,154 parameters and
/// 344 state_dict entries (parameters, then per batch norm its three buffers).
#[test]
fn googlenet_is_torchvisions_without_the_auxiliary_classifiers() {
    let g = models::googlenet(10, 224, false).unwrap();
    assert_eq!(parameters(&g), 5_610_154);
    assert_eq!(g.parameters().len() + g.buffers().len(), 344);
    let names: Vec<String> = g.parameters().into_iter().map(|(n, _, _)| n).collect();
    for name in [
        "conv1.conv.weight",
        "conv1.bn.weight",
        "inception3a.branch2.1.conv.weight",
        "inception4e.branch4.1.bn.bias",
        "inception5b.branch3.0.conv.weight",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} missing");
    }
    // The paper's map sizes at 224 px (ceil-mode pools): 56, 28, 14, 7.
    assert_eq!(shape_of(&g, "maxpool1"), [64, 56, 56]);
    assert_eq!(shape_of(&g, "inception3b.concat"), [480, 28, 28]);
    assert_eq!(shape_of(&g, "inception4e.concat"), [832, 14, 14]);
    assert_eq!(shape_of(&g, "inception5b.concat"), [1024, 7, 7]);
    let concats = g.layers.iter().filter(|l| l.kind == LayerKind::Concat);
    assert_eq!(concats.count(), 9);
    // Any size from 32 px: 1x1 maps in the last blocks.
    let small = models::googlenet(10, 32, false).unwrap();
    assert_eq!(shape_of(&small, "inception5b.concat"), [1024, 1, 1]);
    assert_eq!(parameters(&small), 5_610_154);
}

/// torchvision.models.googlenet(num_classes=10) (aux_logits=True, its default): 9,960,638
/// parameters and 364 state_dict entries, `aux1` and `aux2` after `inception5b`, before `fc`.
#[test]
fn googlenet_has_torchvisions_auxiliary_classifiers() {
    let pooled = Some([512, 4, 4]);
    for (size, pooled) in [(64, None), (128, pooled), (224, pooled), (32, pooled)] {
        let g = models::googlenet(10, size, true).unwrap();
        assert_eq!(parameters(&g), 9_960_638);
        assert_eq!(g.parameters().len() + g.buffers().len(), 364);
        let names: Vec<String> = g.parameters().into_iter().map(|(n, _, _)| n).collect();
        let at = |n: &str| names.iter().position(|m| m == n).unwrap();
        assert!(at("inception5b.branch4.1.bn.bias") < at("aux1.conv.conv.weight"));
        assert!(at("aux1.fc2.bias") < at("aux2.conv.conv.weight"));
        assert_eq!(at("aux2.fc2.bias") + 1, at("fc.weight"));
        for name in ["aux1.conv.bn.weight", "aux1.fc1.weight", "aux2.fc1.bias"] {
            assert!(names.iter().any(|n| n == name), "{name} missing");
        }
        // adaptive_avg_pool2d to 4x4: none on 4x4 maps (64 px); 8x8 (128 px), 14x14 (224)
        // and 2x2 (32) maps pooled.
        let pool = g.layers.iter().find(|l| l.name == "aux1.avgpool");
        assert_eq!(pool.map(|l| l.out_shape), pooled);
        assert_eq!(shape_of(&g, "aux2.fc1"), [1024, 1, 1]);
        let heads: Vec<(String, f32)> = g
            .aux_heads
            .iter()
            .map(|h| (g.layers[h.node].name.clone(), h.weight))
            .collect();
        assert_eq!(heads, [("aux1.fc2".into(), 0.3), ("aux2.fc2".into(), 0.3)]);
        // Evaluation runs neither.
        let main = g.main_path();
        let aux_nodes = g.layers.iter().zip(&main);
        assert!(aux_nodes
            .filter(|(l, _)| l.name.starts_with("aux"))
            .all(|(_, &m)| !m));
    }
}
