package joinedup.purposes_test

import data.joinedup.purposes

test_known_and_requirements if {
	purposes.known with input as {"purpose": "early_help"}
	not purposes.known with input as {"purpose": "nosy"}
	purposes.requirement("consent") == "required" with input as {"purpose": "early_help"}
}
