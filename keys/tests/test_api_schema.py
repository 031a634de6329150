"""The members each operation accepts are the KMS model's (botocore's service model), none invented."""

from __future__ import annotations

import botocore.session
import pytest

from keys.api.operations import NOT_IMPLEMENTED, OPERATIONS

MODEL = botocore.session.get_session().get_service_model("kms")


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_an_operations_members_are_the_models_input_members(name):
    shape = MODEL.operation_model(name).input_shape
    members = OPERATIONS[name].members
    assert set(members) == set(shape.members)
    required = {member_name for member_name, member in members.items() if member.required}
    # The replica may require what the model leaves optional only where AWS documents it as required.
    assert set(shape.required_members) <= required


def test_every_kms_operation_is_implemented_or_named_as_not_implemented():
    assert set(MODEL.operation_names) == set(OPERATIONS) | NOT_IMPLEMENTED
    assert not set(OPERATIONS) & NOT_IMPLEMENTED
