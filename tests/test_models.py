import urllib.error
import urllib.request

import pytest
import torch

from brainnet.models import (
    ModelSpec,
    WeightsUnavailableError,
    build_model,
    check_weights_available,
    model_layers,
    preprocessing,
)


def test_alexnet_auto_layers_follow_the_reference_study():
    spec = ModelSpec(name="alexnet", arch="alexnet")
    layers = model_layers(build_model(spec), spec)
    assert list(layers) == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert layers["conv1"] == "features.1"  # after the ReLU, as in Kuzovkin et al. 2018


def test_resnet_auto_layers_are_residual_stages():
    spec = ModelSpec(name="r", arch="resnet18")
    assert list(model_layers(build_model(spec), spec)) == [
        "conv1",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "fc",
    ]


def test_auto_layers_for_any_network_are_stages_and_fc():
    spec = ModelSpec(name="tiny", factory="factories:tiny_net", input_size=32)
    layers = model_layers(build_model(spec), spec)
    # each stage ends at the last node before the resolution drops (32, 16, then the 2x2
    # adaptive pool), then the classifier
    assert layers == {"stage1": "1", "stage2": "4", "stage3": "5", "fc1": "7"}


def test_explicit_layers_mix_names_and_nodes():
    spec = ModelSpec(name="a", arch="alexnet", layers=["conv2", "features.8", "pixels"])
    assert model_layers(build_model(spec), spec) == {
        "conv2": "features.4",
        "features.8": "features.8",
    }


def test_unknown_layer_suggests_the_closest_names():
    spec = ModelSpec(name="a", arch="alexnet", layers=["conv9"])
    with pytest.raises(ValueError, match=r"unknown layer 'conv9'.*did you mean conv5.*fc8"):
        model_layers(build_model(spec), spec)
    spec = ModelSpec(name="a", arch="alexnet", layers=["features.111"])
    with pytest.raises(ValueError, match=r"did you mean features\.11"):
        model_layers(build_model(spec), spec)


def test_untrained_weights_are_seeded():
    a = build_model(ModelSpec(name="a", arch="alexnet", seed=3))
    b = build_model(ModelSpec(name="b", arch="alexnet", seed=3))
    c = build_model(ModelSpec(name="c", arch="alexnet", seed=4))
    assert torch.equal(a.features[0].weight, b.features[0].weight)
    assert not torch.equal(a.features[0].weight, c.features[0].weight)


def test_state_dict_path_is_loaded(tmp_path):
    source = build_model(ModelSpec(name="t", factory="factories:tiny_net", seed=11))
    torch.save(source.state_dict(), tmp_path / "weights.pt")
    spec = ModelSpec(name="t", factory="factories:tiny_net", weights=str(tmp_path / "weights.pt"))
    loaded = build_model(spec)
    assert spec.weights_kind == "state_dict"
    assert torch.equal(loaded[0].weight, source[0].weight)


def test_state_dict_that_does_not_fit_is_named(tmp_path):
    torch.save({"nonsense": torch.zeros(1)}, tmp_path / "bad.pt")
    spec = ModelSpec(name="t", factory="factories:tiny_net", weights=str(tmp_path / "bad.pt"))
    with pytest.raises(ValueError, match=r"bad\.pt does not fit"):
        build_model(spec)


def test_missing_state_dict_is_named(tmp_path):
    spec = ModelSpec(name="a", arch="alexnet", weights=str(tmp_path / "nope.pth"))
    with pytest.raises(FileNotFoundError, match=r"nope\.pth.*IMAGENET1K_V1") as err:
        check_weights_available(spec)
    # the weights enum lists DEFAULT among its members: named once
    assert str(err.value).count("DEFAULT") == 1


def test_factory_errors_are_clear():
    with pytest.raises(ValueError, match="model 'm': cannot import factory 'factories:missing'"):
        build_model(ModelSpec(name="m", factory="factories:missing"))
    with pytest.raises(TypeError, match="model 'm': .* returned str, not a torch.nn.Module"):
        build_model(ModelSpec(name="m", factory="factories:not_a_module"))
    with pytest.raises(TypeError, match="model 'm': factory 'factories:TINY_NET_NAME' is a str"):
        build_model(ModelSpec(name="m", factory="factories:TINY_NET_NAME"))


def test_unknown_arch_and_ambiguous_entry_are_refused():
    with pytest.raises(ValueError, match="unknown arch 'alexnot'"):
        ModelSpec(name="m", arch="alexnot")
    with pytest.raises(ValueError, match="exactly one of 'arch' or 'factory'"):
        ModelSpec(name="m", arch="alexnet", factory="a:b")


def _offline(monkeypatch):
    """No network: a HEAD request or a download fails as it does without internet."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_imagenet_weights_offline_name_file_and_folder(tmp_path, monkeypatch):
    """Not cached, not reachable: a usable message, and no folder made."""
    _offline(monkeypatch)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    spec = ModelSpec(name="alex", arch="alexnet", weights="DEFAULT")
    assert spec.weights_kind == "torchvision"
    with pytest.raises(WeightsUnavailableError) as err:
        check_weights_available(spec)
    message = str(err.value)
    assert "alexnet-owt-7be5be79.pth" in message
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert not (tmp_path / "hub").exists()


def test_weights_check_has_no_side_effects_when_online(tmp_path, monkeypatch):
    """A reachable server is asked, with HEAD, and nothing is downloaded or created."""
    asked = []

    class Answer:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def head(request, timeout):
        asked.append(request.get_method())
        return Answer()

    def download(*args, **kwargs):
        raise AssertionError("the check downloaded the weights")

    monkeypatch.setattr(urllib.request, "urlopen", head)
    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    check_weights_available(ModelSpec(name="alex", arch="alexnet", weights="IMAGENET1K_V1"))
    assert asked == ["HEAD"]
    assert not (tmp_path / "hub").exists()


def test_cached_imagenet_weights_are_used(tmp_path, monkeypatch):
    """A file in the hub cache is loaded without any download."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    reference = build_model(ModelSpec(name="r", arch="alexnet", seed=5))
    (tmp_path / "checkpoints").mkdir()
    torch.save(reference.state_dict(), tmp_path / "checkpoints" / "alexnet-owt-7be5be79.pth")
    monkeypatch.setattr(
        "torchvision.models._api.load_state_dict_from_url",
        lambda url, **k: torch.load(tmp_path / "checkpoints" / url.split("/")[-1]),
    )
    model = build_model(ModelSpec(name="a", arch="alexnet", weights="IMAGENET1K_V1"))
    assert torch.equal(model.features[0].weight, reference.features[0].weight)


def test_preprocessing_follows_the_weights_or_imagenet_defaults():
    from PIL import Image

    image = Image.new("RGB", (300, 200), (124, 116, 104))  # the ImageNet mean colour
    alex = preprocessing(ModelSpec(name="a", arch="alexnet"))(image)
    assert alex.shape == (3, 224, 224)
    assert torch.allclose(alex, torch.zeros_like(alex), atol=0.02)
    tiny = preprocessing(ModelSpec(name="t", factory="factories:tiny_net", input_size=32))(image)
    assert tiny.shape == (3, 32, 32)
