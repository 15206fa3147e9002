# Masks: the coarser form of a field that a "mask" grant discloses. Each
# field's mask is in its catalogue entry; the masks the gateway can apply are
# listed in data.access.masks (passed in as `masks`).
package joinedup.masking

mask(entry, masks) := entry.mask if applicable(masks, entry.mask)

applicable(masks, name) if masks[name]
