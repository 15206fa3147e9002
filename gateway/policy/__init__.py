"""Policy decisions: the contract with the Rego policies and the engines that evaluate them."""

from gateway.policy.decision import (
    Decision,
    DecisionInput,
    FieldDecision,
    LabelDecision,
    LabelInput,
    LabelledRecord,
    PersonContext,
    RequestedField,
)
from gateway.policy.engine import PolicyEngine, decide_fail_closed, decide_labels_fail_closed

__all__ = [
    "Decision",
    "DecisionInput",
    "FieldDecision",
    "LabelDecision",
    "LabelInput",
    "LabelledRecord",
    "PersonContext",
    "PolicyEngine",
    "RequestedField",
    "decide_fail_closed",
    "decide_labels_fail_closed",
]
