"""The playbooks file: the shipped one is valid, and mistakes are named by file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from common.names import ReasonCode
from outreach.playbooks import DEFAULT_PLAYBOOKS_PATH, PlaybookError, load_playbooks


def write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "playbooks.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture()
def document() -> dict:
    return yaml.safe_load(DEFAULT_PLAYBOOKS_PATH.read_text())


def test_shipped_playbooks_route_reasons_to_the_agreed_teams() -> None:
    playbooks = load_playbooks()
    routes = playbooks.playbook_for_reason()
    team_of = {code: playbooks.action(name).team for code, name in routes.items()}
    assert playbooks.version
    for code in (
        ReasonCode.LATE_DELIVERY,
        ReasonCode.FAILED_DELIVERY,
        ReasonCode.ORDER_OVERDUE,
        ReasonCode.RETURNED_ORDER,
    ):
        assert team_of[code] == "customer-care"
        assert playbooks.action(routes[code]).action == "apology and status update"
    for code in (ReasonCode.LOW_RATING, ReasonCode.NEGATIVE_FEEDBACK, ReasonCode.SUPPORT_TICKETS):
        assert team_of[code] == "service-recovery"
    for code in (
        ReasonCode.OVERDUE_VS_USUAL_GAP,
        ReasonCode.LONG_INACTIVE,
        ReasonCode.DECLINING_ACTIVITY,
    ):
        assert team_of[code] == "marketing"
    assert [rule.team for rule in playbooks.precedence.values()] == ["account-management"]


def test_unknown_reason_code_names_file_and_key(tmp_path: Path, document: dict) -> None:
    document["playbooks"]["win_back_offer"]["reasons"][1] = "LONG_INACTIV"
    path = write(tmp_path, document)
    with pytest.raises(PlaybookError) as error:
        load_playbooks(path)
    message = str(error.value)
    assert str(path) in message
    assert "playbooks.win_back_offer.reasons[1]" in message
    assert "'LONG_INACTIV'" in message and "LONG_INACTIVE" in message


def test_unknown_team_names_file_and_key(tmp_path: Path, document: dict) -> None:
    document["playbooks"]["service_recovery_call"]["team"] = "service"
    path = write(tmp_path, document)
    with pytest.raises(
        PlaybookError, match=r"playbooks\.service_recovery_call\.team: unknown team 'service'"
    ):
        load_playbooks(path)


def test_unknown_channel_and_missing_version_are_refused(tmp_path: Path, document: dict) -> None:
    document["default"]["channels"] = ["fax"]
    del document["version"]
    path = write(tmp_path, document)
    with pytest.raises(PlaybookError) as error:
        load_playbooks(path)
    assert "default.channels[0]: unknown channel 'fax'" in str(error.value)
    assert "version: Field required" in str(error.value)


def test_a_reason_answered_by_two_playbooks_is_ambiguous(tmp_path: Path, document: dict) -> None:
    document["playbooks"]["win_back_offer"]["reasons"].append("LATE_DELIVERY")
    with pytest.raises(
        PlaybookError,
        match=r"LATE_DELIVERY is already answered by playbooks\.apology_status_update",
    ):
        load_playbooks(write(tmp_path, document))


def test_capacity_override_for_an_unknown_team_is_refused() -> None:
    with pytest.raises(PlaybookError, match="unknown teams \\['sales'\\]"):
        load_playbooks().capacities({"sales": 3})
