# Masks: the coarser form of a field that a "mask" grant discloses. Each
# field's mask is in the field catalogue (data.agencies[agency].fields); the
# masks the gateway can apply are listed in data.access.masks.
package joinedup.masking

mask(agency, coordinate) := name if {
	name := data.agencies[agency].fields[coordinate].mask
	applicable(name)
}

# (A separate rule: rego-cpp crashes on a bare data lookup keyed by a variable
# bound earlier in the same body.)
applicable(name) if data.access.masks[name]
