package joinedup.gates_test

import data.joinedup.decision
import data.joinedup.gates

request := {
	"caller": {"roles": ["keyworker"]},
	"purpose": "early_help",
	"fields": [{"coordinate": "CouncilSection.name", "agency": "council"}],
	"persons": [{"key": "k", "match_confidence": {"council": 1}, "relationship": false}],
	"break_glass": {"reason": "r"},
}

test_gates_are_the_decision_without_fields if {
	gates.persons == decision.persons with input as request
	gates.obligations == decision.obligations with input as request
	gates.revision == decision.revision with input as request
}
