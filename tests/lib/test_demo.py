"""The training demo (`make demo`) end to end, shortened to one epoch."""

from convlab import demo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_demo_trains_reports_and_writes_pngs(tmp_path, capsys):
    out = tmp_path / "demo"
    assert demo.main(["--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(Epoch 1 / 1)" in printed and "test accuracy" in printed
    names = ["training_curves.png", "first_layer_filters.png", "activations.png", "architecture.png"]
    for name in names:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
        assert str(out / name) in printed


def test_one_epoch_already_learns():
    result = demo.train_digits(epochs=1, verbose=False)
    assert result.test_acc > 0.7  # chance is 0.1
    assert len(result.solver.history["val_acc"]) == 1
