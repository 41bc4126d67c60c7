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
    let g = models::googlenet(10, 224).unwrap();
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
    let small = models::googlenet(10, 32).unwrap();
    assert_eq!(shape_of(&small, "inception5b.concat"), [1024, 1, 1]);
    assert_eq!(parameters(&small), 5_610_154);
}
