import pytest
import torch
import torchvision
from torch import nn

from fssuavl_app.core.archs import ARCHS, ViT
from fssuavl_app.core.methods.barlow_twins import barlow_twins
from fssuavl_app.core.methods.simclr import nt_xent
from fssuavl_app.core.models import ModelArgs, build_model

pytestmark = pytest.mark.unit

PAPER_VIT_PARAMS = 15e6  # Table 5, "Parameters (R-18/ViT)": "12M/15M"
D = ARCHS["vit"].feature_dim


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def vit128():
    torch.manual_seed(0)
    return build_model(ModelArgs(arch="vit"))


def test_paper_settings_at_128(vit128):
    enc = vit128.encoder
    assert isinstance(enc, ViT) and D % 8 == 0
    assert enc.num_tokens == 64 and enc.depth == 18 and enc.heads == 8
    assert enc.patch_embed.kernel_size == (16, 16) and enc.patch_embed.stride == (16, 16)
    assert enc.pos_embed.shape == (1, 64, D)  # no class token
    layer = enc.layers[0]
    assert layer.norm_first and layer.linear1.out_features == 4 * D
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        assert enc.tokens(x).shape == (2, 64, D)
        assert vit128.features(x).shape == (2, D)
        assert vit128(x).shape == (2, 128)


def test_parameter_count_matches_the_paper(vit128):
    enc, head, total = n_params(vit128.encoder), n_params(vit128.head), n_params(vit128)
    msg = f"ViT encoder {enc:,} + head {head:,} = {total:,} vs paper {PAPER_VIT_PARAMS:,.0f}"
    assert abs(total - PAPER_VIT_PARAMS) <= 0.1 * PAPER_VIT_PARAMS, msg
    assert (enc, head, total) == (14_429_440, 98_688, 14_528_128), msg


def test_head_is_an_mlp_to_128(vit128):
    head = vit128.head
    assert isinstance(head, nn.Sequential)
    assert (head[0].in_features, head[0].out_features) == (D, D)
    assert isinstance(head[1], nn.ReLU) and (head[2].in_features, head[2].out_features) == (D, 128)
    custom = build_model(ModelArgs(arch="vit", input_size=32, proj_hidden_dim=64, proj_dim=32)).head
    assert (custom[0].out_features, custom[2].out_features) == (64, 32)


def test_features_are_the_mean_of_the_output_tokens(vit128):
    captured = {}
    hook = vit128.encoder.norm.register_forward_hook(lambda m, i, o: captured.update(tokens=o))
    x = torch.randn(2, 3, 128, 128)
    try:
        with torch.no_grad():
            feats = vit128.features(x)
    finally:
        hook.remove()
    assert captured["tokens"].shape == (2, 64, D)
    torch.testing.assert_close(feats, captured["tokens"].mean(dim=1))
    with torch.no_grad():  # the projection is the head applied to those features
        torch.testing.assert_close(vit128(x), vit128.head(feats), rtol=1e-4, atol=1e-5)


def test_manual_forward_matches_tokens():
    torch.manual_seed(1)
    model = build_model(ModelArgs(arch="vit", input_size=32))
    enc, x = model.encoder, torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        patches = x.unfold(2, 16, 16).unfold(3, 16, 16)  # (N, C, 2, 2, 16, 16)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(3, 4, 3 * 16 * 16)
        t = patches @ enc.patch_embed.weight.reshape(D, -1).T + enc.patch_embed.bias + enc.pos_embed
        for layer in enc.layers:
            h = layer.norm1(t)
            t = t + layer.self_attn(h, h, h, need_weights=False)[0]
            t = t + layer.linear2(nn.functional.gelu(layer.linear1(layer.norm2(t))))
        expected = enc.norm(t).mean(dim=1)
        torch.testing.assert_close(model.features(x), expected, rtol=1e-4, atol=1e-5)
    model.eval()  # evaluation runs in eval + inference mode: PyTorch's fused encoder-layer path
    with torch.inference_mode():
        torch.testing.assert_close(model.features(x), expected, rtol=1e-4, atol=1e-5)


def test_small_inputs_work_and_train():
    torch.manual_seed(2)
    model = build_model(ModelArgs(arch="vit", input_size=32))
    assert model.encoder.num_tokens == 4 and model.encoder.pos_embed.shape == (1, 4, D)
    z = model(torch.randn(6, 3, 32, 32))
    assert z.shape == (6, 128)
    loss = nt_xent(*z.chunk(2)) + barlow_twins(*z.chunk(2))
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.encoder.pos_embed.grad.abs().sum() > 0


@pytest.mark.parametrize("size", [40, 8, 100])
def test_bad_input_size_raises(size):
    with pytest.raises(ValueError, match="16"):
        build_model(ModelArgs(arch="vit", input_size=size))


def test_wrong_input_tensor_size_raises():
    model = build_model(ModelArgs(arch="vit", input_size=32))
    with pytest.raises(ValueError, match="32, 32"):
        model.features(torch.randn(1, 3, 48, 48))


def test_deterministic_init_and_state_dict_round_trip():
    args = ModelArgs(arch="vit", input_size=32)
    torch.manual_seed(3)
    a = build_model(args)
    torch.manual_seed(3)
    b = build_model(args)
    for key, value in a.state_dict().items():
        assert torch.equal(b.state_dict()[key], value), key
    # trunc-normal(0.02) init of the position embedding and linears, zero biases
    for w in (a.encoder.pos_embed, a.encoder.layers[0].linear1.weight,
              a.encoder.layers[0].self_attn.in_proj_weight, a.head[0].weight):
        assert w.std().item() == pytest.approx(0.02, rel=0.1)
    assert not a.encoder.layers[0].linear1.bias.any() and not a.head[2].bias.any()

    torch.manual_seed(4)
    c = build_model(args)
    assert not torch.equal(c.encoder.pos_embed, a.encoder.pos_embed)
    c.load_state_dict(a.state_dict())
    x = torch.randn(4, 3, 32, 32)
    for train in (True, False):
        a.train(train)
        c.train(train)
        with torch.no_grad():
            assert torch.equal(a(x), c(x)) and torch.equal(a.features(x), c.features(x))


def test_resnet18_unchanged():
    model = build_model(ModelArgs(input_size=32))
    reference = torchvision.models.resnet18(weights=None)
    expected_keys = [f"encoder.{k}" for k in reference.state_dict() if not k.startswith("fc.")]
    assert list(model.state_dict()) == expected_keys + ["head.weight", "head.bias"]
    assert isinstance(model.head, nn.Linear) and (model.head.in_features, model.head.out_features) == (512, 128)
    assert (n_params(model.encoder), n_params(model.head)) == (11_176_512, 65_664)  # 11.2M total
    assert model.features(torch.randn(2, 3, 32, 32)).shape == (2, 512)
    mlp = build_model(ModelArgs(input_size=32, proj_hidden_dim=16))
    assert [k for k in mlp.state_dict() if k.startswith("head.")] == [
        "head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias"]
