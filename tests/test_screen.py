"""The identification screen's point and options (calibration/screen.py)."""
import pytest

from ruralabm.calibration.objective import ParamSpace
from ruralabm.calibration.screen import centre, main


def test_the_point_stays_a_step_inside_the_box():
    space = ParamSpace.parse(["cooperative.failure_probability=0:0.065"])
    # the scenario's own value (0.04 in the uncalibrated world) is inside a 5% margin
    assert centre(space, "uncalibrated")["cooperative.failure_probability"] == pytest.approx(0.04)
    # a point near the edge is moved in by the step, so that both sides of the difference are in the box
    near_edge = centre(space, "uncalibrated", {"cooperative.failure_probability": 0.064}, step=0.2)
    assert near_edge["cooperative.failure_probability"] == pytest.approx(0.065 - 0.2 * 0.065)
    # a half-box step differences the box's two ends, from its middle
    assert centre(space, "uncalibrated", step=0.5)["cooperative.failure_probability"] == pytest.approx(0.0325)


@pytest.mark.parametrize("argv, message", [
    (["--only", "cooperative.no_such_thing"], "--only: cooperative.no_such_thing not among"),
    (["--step", "0.7"], "--step: 0.7 is not in (0, 0.5]"),
    (["--step", "0"], "--step: 0.0 is not in (0, 0.5]"),
])
def test_bad_options_are_refused_by_name_before_any_simulation(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--out", str(tmp_path / "screen")] + argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "screen").exists()
