package joinedup.relationship_test

import data.joinedup.relationship

test_relationship_required_for_early_help if {
	relationship.no_relationship({"relationship": false}) with input as {"purpose": "early_help", "caller": {"roles": ["keyworker"]}}
	not relationship.no_relationship({"relationship": true}) with input as {"purpose": "early_help", "caller": {"roles": ["keyworker"]}}
}
