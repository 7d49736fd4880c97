"""convlab.shapes: the output-size formula (as properties) and the lecture notes' figures."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convlab.shapes import (
    activation_bytes,
    conv_output_size,
    conv_param_count,
    depthwise_separable_param_count,
    effective_kernel_size,
    fc_param_count,
    full_padding,
    grouped_conv_param_count,
    locally_connected_param_count,
    padding_for_mode,
    pool_output_size,
    receptive_field,
    same_padding,
)

sizes = st.integers(1, 300)
kernels = st.integers(1, 15)
strides = st.integers(1, 8)
pads = st.integers(0, 10)
dilations = st.integers(1, 4)

# --- the formula, as properties ------------------------------------------------------------


@given(sizes, kernels, strides, pads, dilations)
def test_output_size_tiles_the_padded_input_exactly_when_valid(W, F, S, P, D):
    f_eff = F + (F - 1) * (D - 1)
    span = W - f_eff + 2 * P
    valid = span >= 0 and span % S == 0
    if valid:
        out = conv_output_size(W, F, S, P, D)
        assert isinstance(out, int) and out >= 1
        # the last window ends inside the padded input, one more would not fit
        assert (out - 1) * S + f_eff <= W + 2 * P < out * S + f_eff
        # and it ends exactly on the border: nothing is cropped
        assert (out - 1) * S + f_eff == W + 2 * P
    else:
        with pytest.raises(ValueError) as info:
            conv_output_size(W, F, S, P, D)
        message = str(info.value)
        for part in (f"W={W}", f"F={F}", f"S={S}", f"P={P}"):
            assert part in message
        if D != 1:
            assert f"dilation={D}" in message


@given(sizes, kernels, pads, dilations)
def test_stride_one_output_counts_every_window_position(W, F, P, D):
    f_eff = effective_kernel_size(F, D)
    assume(W + 2 * P >= f_eff)
    assert conv_output_size(W, F, 1, P, D) == W + 2 * P - f_eff + 1


@given(sizes, st.integers(0, 6), dilations)
def test_same_and_full_padding(W, half, D):
    F = 2 * half + 1
    f_eff = effective_kernel_size(F, D)
    assume(W + 2 * same_padding(F, D) >= f_eff)
    assert conv_output_size(W, F, 1, same_padding(F, D), D) == W
    assert conv_output_size(W, F, 1, full_padding(F, D), D) == W + f_eff - 1
    assert padding_for_mode("same", F, D) == same_padding(F, D)
    assert padding_for_mode("full", F, D) == full_padding(F, D)
    assert padding_for_mode("valid", F, D) == 0


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4))
def test_pooling_halves_divisible_sizes(k, m, q):
    W = k * m * q  # divisible by the window
    assert pool_output_size(W, k) == W // k
    assert pool_output_size(W, k, k) == W // k


def test_effective_kernel_size_of_dilated_filters():
    assert effective_kernel_size(3, 1) == 3
    assert effective_kernel_size(3, 2) == 5  # w0*x0 + w1*x2 + w2*x4
    assert effective_kernel_size(3, 3) == 7
    assert effective_kernel_size(1, 5) == 1


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"size": 0, "kernel": 1}, ValueError),
        ({"size": 5, "kernel": 0}, ValueError),
        ({"size": 5, "kernel": 3, "stride": 0}, ValueError),
        ({"size": 5, "kernel": 3, "pad": -1}, ValueError),
        ({"size": 5, "kernel": 3, "dilation": 0}, ValueError),
        ({"size": 5.0, "kernel": 3}, TypeError),
        ({"size": 5, "kernel": 3, "stride": 1.5}, TypeError),
        ({"size": True, "kernel": 1}, TypeError),
    ],
)
def test_bad_arguments_are_rejected(kwargs, error):
    with pytest.raises(error):
        conv_output_size(**kwargs)


def test_bad_padding_requests():
    with pytest.raises(ValueError, match="odd"):
        same_padding(4)
    with pytest.raises(ValueError, match="unknown padding mode 'half'"):
        padding_for_mode("half", 3)


# --- the syllabus figures ----------------------------------------------------------------------


def test_alexnet_first_layer():
    assert conv_output_size(227, 11, stride=4, pad=0) == 55
    neurons = 55 * 55 * 96
    assert neurons == 290_400
    assert conv_param_count(11, 3, 96, bias=False) == 34_848
    assert conv_param_count(11, 3, 96) == 34_944
    assert locally_connected_param_count(55, 55, 11, 3, 96) == 105_705_600 == neurons * 364


def test_alexnet_224_does_not_tile_and_says_so():
    with pytest.raises(ValueError) as info:
        conv_output_size(224, 11, stride=4)
    message = str(info.value)
    assert "W=224" in message and "F=11" in message and "S=4" in message and "54.25" in message
    # "3 pixels of padding" means 3 in total (224 + 3 = 227): no symmetric padding P per side can work,
    # because 224 - 11 + 2P is odd for every P
    assert conv_output_size(224 + 3, 11, stride=4) == 55
    for pad in range(0, 8):
        with pytest.raises(ValueError):
            conv_output_size(224, 11, stride=4, pad=pad)


def test_notes_small_examples():
    assert conv_output_size(7, 3, stride=1) == 5
    assert conv_output_size(7, 3, stride=2) == 3
    assert conv_output_size(5, 3, stride=1, pad=1) == 5
    assert conv_output_size(5, 3, stride=2, pad=1) == 3
    with pytest.raises(ValueError, match=r"W=5, F=3, S=3, P=1"):
        conv_output_size(5, 3, stride=3, pad=1)
    with pytest.raises(ValueError, match=r"4\.5"):
        conv_output_size(10, 3, stride=2, pad=0)
    assert conv_output_size(11, 5, stride=2) == 4  # the (11, 11, 4) worked example -> 4x4
    assert conv_output_size(32, 3, 1, same_padding(3)) == 32  # CONV keeps CIFAR's 32x32
    assert pool_output_size(32, 2) == 16  # POOL halves it


def test_local_connectivity_and_fc_counts():
    assert fc_param_count(32 * 32 * 3, 1, bias=False) == 3_072
    assert fc_param_count(200 * 200 * 3, 1, bias=False) == 120_000
    assert conv_param_count(5, 3, 1, bias=False) == 75
    assert conv_param_count(3, 20, 1, bias=False) == 180
    assert conv_param_count((5, 5), 4, 2) == 2 * (5 * 5 * 4) + 2
    # im2col for AlexNet conv1: 363 x 3,025 columns, 96 x 363 weights
    assert conv_param_count(11, 3, 1, bias=False) == 363
    assert conv_output_size(227, 11, 4) ** 2 == 3_025


@given(st.integers(1, 512))
def test_three_3x3_layers_vs_one_7x7(C):
    three = 3 * conv_param_count(3, C, C, bias=False)
    one = conv_param_count(7, C, C, bias=False)
    assert three == 27 * C * C
    assert one == 49 * C * C
    assert receptive_field([3, 3, 3]) == receptive_field([7]) == 7


@given(st.integers(1, 256), st.integers(1, 256), st.sampled_from([1, 3, 5, 7]))
def test_depthwise_separable_counts(c1, c2, k):
    separable = depthwise_separable_param_count(k, c1, c2)
    assert separable == k * k * c1 + c1 * c2
    # depthwise = grouped conv with one group per channel; pointwise = 1x1 conv
    assert separable == (grouped_conv_param_count(k, c1, c1, groups=c1, bias=False)
                         + conv_param_count(1, c1, c2, bias=False))
    assert conv_param_count(k, c1, c2, bias=False) == k * k * c1 * c2
    assert separable <= conv_param_count(k, c1, c2, bias=False) + c1 * c2
    assert depthwise_separable_param_count(k, c1, c2, bias=True) == separable + c1 + c2


@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 4))
def test_grouped_counts(cg, kg, g):
    c1, c2 = cg * g, kg * g
    assert grouped_conv_param_count(3, c1, c2, groups=g) == 9 * (c1 // g) * (c2 // g) * g + c2
    assert grouped_conv_param_count(3, c1, c2, groups=1) == conv_param_count(3, c1, c2)


def test_grouped_counts_reject_indivisible_groups():
    with pytest.raises(ValueError, match="groups=3"):
        grouped_conv_param_count(3, 64, 128, groups=3)
    with pytest.raises(ValueError, match="groups"):
        grouped_conv_param_count(3, 64, 128, groups=0)


def test_receptive_fields():
    assert receptive_field([3]) == 3
    assert receptive_field([3, 3]) == 5
    assert receptive_field([3, 3, 3]) == 7
    assert receptive_field([3, 3], dilations=[1, 2]) == 7
    assert receptive_field([11, 3], strides=[4, 2]) == 19  # AlexNet conv1 then a 3x3 pool
    with pytest.raises(ValueError, match="strides"):
        receptive_field([3, 3, 3], strides=[1, 2])


@given(st.lists(st.tuples(st.integers(1, 7), st.integers(1, 3)), min_size=1, max_size=5))
def test_receptive_field_is_the_input_that_yields_one_output(layers):
    """At stride 1 the receptive field is the smallest input that survives the stack as 1 pixel."""
    kernels = [k for k, _ in layers]
    dilations = [d for _, d in layers]
    r = receptive_field(kernels, dilations=dilations)
    size = r
    for k, d in layers:
        size = conv_output_size(size, k, 1, 0, d)
    assert size == 1


# --- VGG-16 (the notes' table) ------------------------------------------------------------

VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16_table():
    """Rows (name, activations, weights without biases, parameters with biases) of VGG-16 on 224x224x3."""
    size, depth = 224, 3
    rows = [("INPUT", size * size * depth, 0, 0)]
    for layer in VGG16:
        if layer == "M":
            size = pool_output_size(size, 2)
            rows.append(("POOL2", size * size * depth, 0, 0))
        else:
            size = conv_output_size(size, 3, 1, same_padding(3))
            rows.append((f"CONV3-{layer}", size * size * layer, conv_param_count(3, depth, layer, bias=False),
                         conv_param_count(3, depth, layer)))
            depth = layer
    features = size * size * depth
    for units in (4096, 4096, 1000):
        rows.append((f"FC{units}", units, fc_param_count(features, units, bias=False),
                     fc_param_count(features, units)))
        features = units
    return rows


def test_vgg16_layer_by_layer_figures():
    rows = vgg16_table()
    weights = [w for name, _, w, _ in rows if name != "INPUT" and not name.startswith("POOL")]
    assert weights == [1_728, 36_864, 73_728, 147_456, 294_912, 589_824, 589_824, 1_179_648,
                       2_359_296, 2_359_296, 2_359_296, 2_359_296, 2_359_296, 102_760_448,
                       16_777_216, 4_096_000]
    activations = {name: a for name, a, _, _ in rows}
    assert activations["INPUT"] == 150_528  # "150K"
    assert activations["CONV3-64"] == 3_211_264  # "3.2M"
    assert [a for name, a, _, _ in rows if name == "POOL2"] == [802_816, 401_408, 200_704, 100_352, 25_088]
    assert rows[-4][0] == "POOL2" and rows[-4][1] == 7 * 7 * 512  # 25K feeding the first FC


def test_vgg16_totals():
    rows = vgg16_table()
    total_params = sum(p for *_, p in rows)
    assert total_params == 138_357_544  # "138M parameters"
    fc_share = sum(p for name, *_, p in rows if name.startswith("FC")) / total_params
    assert fc_share > 0.89  # most parameters sit in the FC layers
    first_fc = next(p for name, *_, p in rows if name.startswith("FC"))
    assert first_fc / total_params > 0.74  # the first FC layer alone
    total_activations = sum(a for _, a, *_ in rows)
    # The notes round this to "~24M"; the table's own rows add up to 15.2M values (58 MiB in float32).
    assert total_activations == 15_237_608
    assert activation_bytes(total_activations, 4) / 2**20 == pytest.approx(58.1, abs=0.1)
    # most activation memory sits in the early CONV layers (the first two hold 42%)
    assert (rows[1][1] + rows[2][1]) / total_activations > 0.42


def test_memory_of_three_224x224x64_volumes():
    values = 3 * 224 * 224 * 64
    assert values == 9_633_792  # "~10M activations"
    with_gradients = 2 * activation_bytes(values, 4)
    assert 70 < with_gradients / 2**20 < 75  # "~72 MB per image with gradients"
    assert activation_bytes(values, 8) == 2 * activation_bytes(values, 4)


def test_fc_to_conv_equivalence_figures():
    assert fc_param_count(7 * 7 * 512, 4096) == conv_param_count(7, 512, 4096)
    assert 224 // 2**5 == 7
    assert conv_output_size(384 // 32, 7) == 6  # a 6x6 score map from a 384x384 image
    assert conv_output_size(conv_output_size(12, 7), 1) == 6


def test_error_names_the_axis_it_was_given():
    with pytest.raises(ValueError, match=r"\(H=10, F=3, S=2, P=0\): \(H - F_eff \+ 2P\)/S \+ 1"):
        conv_output_size(10, 3, 2, axis="H")


def test_layers_report_the_failing_axis_by_its_own_name():
    import numpy as np

    from convlab.layers import conv_forward

    with pytest.raises(ValueError, match=r"along the height \(H\): invalid convolution \(H=10,"):
        conv_forward(np.zeros((1, 1, 10, 9)), np.zeros((1, 1, 3, 3)), np.zeros(1), stride=2)
    with pytest.raises(ValueError, match=r"along the width \(W\): invalid convolution \(W=10,"):
        conv_forward(np.zeros((1, 1, 9, 10)), np.zeros((1, 1, 3, 3)), np.zeros(1), stride=2)
