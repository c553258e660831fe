"""Every registered method runs a step with a tiny network; teachers get no gradient; in Dual each
network learns only from its own terms; DataDistill's targets follow the image content."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from semipose import codec
from semipose.config import ConfigValueError, HardViewConfig, MethodConfig
from semipose.methods import METHODS, build_method, method_config
from semipose.methods.base import MethodContext
from semipose.methods.single import SingleConfig

K, INPUT_WH, HEATMAP_WH = 5, (24, 32), (6, 8)
NEEDS_TEACHER = {"pseudopose", "datadistill"}


class TinyNet(nn.Module):
    """Two stride-2 convs: (N, 3, 32, 24) -> (N, K, 8, 6), with batch norm for train/eval behaviour."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, K, 3, 2, 1))

    def forward(self, images):
        return self.body(images)


def _context(load_network=None):
    def frozen(path, model=None):
        return TinyNet().eval().requires_grad_(False)
    return MethodContext(num_keypoints=K, input_size=INPUT_WH, heatmap_size=HEATMAP_WH,
                         flip_permutation=[0, 2, 1, 4, 3], labelled_joints=torch.tensor([True] * 4 + [False]),
                         sigma=1.0, build_network=lambda model=None: TinyNet(),
                         load_network=load_network or frozen, seed=0)


def _config(name, **options):
    if name in NEEDS_TEACHER:
        options.setdefault("teacher_checkpoint", "teacher.pt")
    config = method_config(name, **options)
    if isinstance(getattr(config, "hard", None), HardViewConfig):
        config.hard.joint_cutout.num_joints = 2
        config.hard.randaugment.num_ops = 2
    return config


def _batches(count=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    points = torch.rand(count, K, 2, generator=generator) * torch.tensor([5.0, 7.0])
    labelled = {"image": torch.randn(count, 3, 32, 24, generator=generator),
                "heatmaps": codec.render_heatmaps(points, (8, 6), 1.0), "target_weight": torch.ones(count, K)}
    unlabelled = {"image": torch.randn(count, 3, 32, 24, generator=generator),
                  "heatmaps": torch.zeros(count, K, 8, 6), "target_weight": torch.zeros(count, K)}
    return labelled, unlabelled


@pytest.mark.parametrize("name", sorted(METHODS))
def test_each_method_runs_a_step_and_evaluates(name):
    method = build_method(_config(name, **({"ema_decay": 0.9} if name == "consistency" else {})), _context())
    method.train()
    labelled, unlabelled = _batches()
    output = method.training_step(labelled, unlabelled if method.uses_unlabelled else None, step=0)
    assert output.loss.dim() == 0 and torch.isfinite(output.loss)
    output.loss.backward()
    grads = [p.grad for p in method.networks.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    method.after_optimizer_step(0)
    logs = {key: float(value) for key, value in output.logs.items()}
    assert np.isfinite(list(logs.values())).all() and "loss_sup" in logs and "response_labelled" in logs
    if method.uses_unlabelled:
        assert {"loss_unsup", "unsup_weight", "response_unlabelled_teacher", "response_unlabelled_student",
                f"response_unlabelled_student/j{K - 1}"} <= set(logs)
    method.eval()
    with torch.no_grad():
        for network in method.eval_networks().values():
            assert network(labelled["image"]).shape == (4, K, 8, 6)


def _record_forward_calls(network):
    calls = []
    network.register_forward_hook(lambda module, inputs, output: calls.append((inputs[0], output.requires_grad)))
    return calls


def test_single_teacher_pass_carries_no_gradient():
    method = build_method(_config("single"), _context())
    calls = _record_forward_calls(method.networks["main"])
    labelled, unlabelled = _batches()
    method.training_step(labelled, unlabelled, step=0).loss.backward()
    assert [grad for _, grad in calls] == [True, False, True]    # labelled, teacher (easy), student (hard)
    assert calls[1][0] is unlabelled["image"]


def test_dual_networks_learn_only_from_their_own_terms():
    method = build_method(_config("dual"), _context())
    calls_a = _record_forward_calls(method.networks["a"])
    labelled, unlabelled = _batches()
    terms = method.loss_terms(labelled, unlabelled)
    assert [grad for _, grad in calls_a] == [True, False, True]
    params_a = list(method.networks["a"].parameters())
    params_b = list(method.networks["b"].parameters())
    (unsup_a, unsup_b), sup = terms.unsupervised, terms.supervised
    for (own_sup, own_unsup), other in (((sup["a"], unsup_a), params_b), ((sup["b"], unsup_b), params_a)):
        grads = torch.autograd.grad(own_sup + own_unsup, other, allow_unused=True, retain_graph=True)
        assert all(g is None or g.abs().max() == 0 for g in grads)
    # b's gradient from the whole loss is that of 0.5 L_s(b) + lambda L_u(b_hard, T(a_easy)).
    whole = terms.loss_sup() + terms.loss_unsup()
    own_b = 0.5 * sup["b"] + unsup_b
    for g_whole, g_own in zip(torch.autograd.grad(whole, params_b, retain_graph=True),
                              torch.autograd.grad(own_b, params_b)):
        assert torch.allclose(g_whole, g_own, atol=1e-7)
    assert set(method.eval_networks()) == {"a", "b", "mean"}


def test_dual_treats_its_two_networks_alike():
    """Network b led network a in every LSP seed: with equal weights and no Joint Cutout (whose
    boxes are the only per-network draw), every term and every gradient must match."""
    config = _config("dual")
    config.hard.joint_cutout.num_joints = 0
    method = build_method(config, _context())
    method.networks["b"].load_state_dict(method.networks["a"].state_dict())
    labelled, unlabelled = _batches()
    terms = method.loss_terms(labelled, unlabelled)
    (unsup_a, unsup_b), sup = terms.unsupervised, terms.supervised
    assert unsup_a > 0
    assert torch.equal(sup["a"], sup["b"]) and torch.equal(unsup_a, unsup_b)
    loss = method.training_step(labelled, unlabelled, step=10 ** 6).loss
    loss.backward()
    for p_a, p_b in zip(method.networks["a"].parameters(), method.networks["b"].parameters()):
        assert torch.allclose(p_a.grad, p_b.grad, rtol=1e-5, atol=1e-8)
    for (name, buffer_a), buffer_b in zip(method.networks["a"].named_buffers(), method.networks["b"].buffers()):
        assert torch.equal(buffer_a, buffer_b), name


def test_pseudopose_teacher_is_frozen_and_stays_in_eval_mode():
    method = build_method(_config("pseudopose"), _context())
    method.train()
    assert not method.teacher.training
    method.training_step(*_batches(), step=0).loss.backward()
    assert all(p.grad is None for p in method.teacher.parameters())
    assert not any(p is q for p in method.teacher.parameters() for q in method.networks.parameters())


def test_consistency_sends_gradient_through_both_views_unless_a_mean_teacher_is_used():
    naive = build_method(_config("consistency"), _context())
    calls = _record_forward_calls(naive.networks["main"])
    naive.training_step(*_batches(), step=0)
    assert [grad for _, grad in calls] == [True, True, True]

    mean_teacher = build_method(_config("consistency", ema_decay=0.5), _context())
    teacher_calls = _record_forward_calls(mean_teacher.ema_teacher)
    mean_teacher.training_step(*_batches(), step=0)
    assert [grad for _, grad in teacher_calls] == [False]
    with torch.no_grad():
        for p in mean_teacher.networks.parameters():
            p.add_(1.0)
    before = [p.clone() for p in mean_teacher.ema_teacher.parameters()]
    mean_teacher.after_optimizer_step(0)
    for old, new, student in zip(before, mean_teacher.ema_teacher.parameters(), mean_teacher.networks.parameters()):
        assert torch.allclose(new, 0.5 * old + 0.5 * student)


class BlobFinder(nn.Module):
    """A 'teacher' that sees the first channel at stride 4 in every heatmap channel: exactly equivariant."""

    def forward(self, images):
        return F.avg_pool2d(images[:, :1], 4).repeat(1, K, 1, 1)


def test_datadistill_averages_views_back_into_the_easy_frame_and_renders_targets_on_the_hard_view():
    context = _context(load_network=lambda path, model=None: BlobFinder())
    config = _config("datadistill", distill_views=6)
    config.hard.joint_cutout.num_joints = 0
    config.hard.randaugment.num_ops = 0
    method = build_method(config, context)
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(24.0), indexing="ij")
    blob = torch.exp(-((xs - 10.0) ** 2 + (ys - 14.0) ** 2) / (2 * 2.5 ** 2))
    easy = blob.expand(3, 3, 32, 24).clone()
    teacher = method.teachers_of_easy()["ensemble"](easy)
    peaks, _ = codec.decode(teacher, refine="dark")
    expected = torch.tensor([(10.0 + 0.5) / 4 - 0.5, (14.0 + 0.5) / 4 - 0.5])
    assert (peaks - expected).abs().max() < 0.3

    hard, = method.hard_views.build(easy, [None], method.rng)
    targets, joint_weight, pixel_weight = method.hard_targets(teacher, hard)
    assert pixel_weight is None and 0.5 < targets.amax() <= 1.0   # clean Gaussians of peak 1
    hard_peaks, _ = codec.decode(targets, refine="dark")
    found_in_hard, _ = codec.decode(hard.warp_heatmaps(teacher), refine="dark")
    assert (hard_peaks - found_in_hard).abs().max() < 0.3
    assert joint_weight[:, K - 1].eq(0).all()                    # never a target for unlabelled joints


def test_unknown_method_names_the_choices_and_the_closest_one():
    with pytest.raises(ValueError, match="'single'") as error:
        build_method(MethodConfig(name="singel"), None)
    assert "supervised" in str(error.value) and "datadistill" in str(error.value)


def test_a_method_config_of_another_method_is_refused():
    with pytest.raises(ConfigValueError, match="'dual' takes a DualConfig, got a SingleConfig"):
        build_method(SingleConfig(name="dual"), _context())


def test_unsupervised_weight_follows_the_ramp():
    method = build_method(_config("single", rampup=(10, 20)), _context())
    logs = method.training_step(*_batches(), step=15).logs
    assert logs["unsup_weight"] == pytest.approx(0.5)


def test_the_augmentation_draws_are_saved_with_the_method():
    first = build_method(_config("dual"), _context())
    first.training_step(*_batches(), step=0)
    state = first.state_dict()
    second = build_method(_config("dual"), _context())
    second.load_state_dict(state)
    assert first.rng.random() == second.rng.random()


def test_consistency_options_drop_unsure_joints_and_weight_foreground_pixels():
    method = build_method(_config("consistency", confidence_threshold=0.5, foreground_weight=4.0), _context())
    targets = torch.zeros(1, K, 8, 6)
    targets[0, 0, 3, 3] = 0.9                                    # a confident joint
    targets[0, 1, 3, 3] = 0.2                                    # an unsure one
    in_view = torch.ones(1, 1, 8, 6)
    in_view[..., 0] = 0.0                                        # first column out of view
    joint_weight, pixel_weight = method._weights(targets, in_view)
    assert joint_weight[0].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]  # j4 is never labelled; j2, j3 flat
    assert pixel_weight[0, 0, 3, 3] == 4.0 and pixel_weight[0, 1, 3, 3] == 4.0   # above 0.1: foreground
    assert pixel_weight[0, 0, 5, 5] == 1.0 and pixel_weight[0, 0, 3, 0] == 0.0


@pytest.mark.parametrize("name", ["single", "dual", "pseudopose", "datadistill"])
def test_easy_hard_methods_build_their_hard_views_in_the_runs_pixel_convention(name):
    from dataclasses import replace
    method = build_method(_config(name), replace(_context(), convention="reference"))
    assert method.hard_views.convention == "reference"
