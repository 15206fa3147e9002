package joinedup.masking_test

import data.joinedup.masking

test_catalogued_mask if {
	masking.mask("council", "CouncilSection.dateOfBirth") == "year"
	not masking.mask("council", "CouncilSection.name")
}
