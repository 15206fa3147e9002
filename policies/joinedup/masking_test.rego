package joinedup.masking_test

import data.joinedup.masking

test_catalogued_mask if {
	masking.mask({"mask": "year"}, {"year": "year only"}) == "year"
	not masking.mask({"mask": "blur"}, {"year": "year only"})
	not masking.mask({}, {"year": "year only"})
}
