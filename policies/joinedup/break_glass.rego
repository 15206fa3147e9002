# Break-glass: emergency access asked for explicitly with a mandatory reason
# (input.break_glass.reason). data.access.break_glass lists, per role, the
# purposes for which it may be used. Granted break-glass waives the
# relationship and consent requirements, nothing else (agreements, labels and
# identity confidence still apply). Asking is always audited at the highest
# level and reviewed; a grant also raises an alert.
package joinedup.break_glass

requested if {
	is_string(input.break_glass.reason)
	trim_space(input.break_glass.reason) != ""
}

default allowed := false

allowed if {
	requested
	some role in input.caller.roles
	input.purpose in data.access.break_glass[role]
}

obligations := {"audit_level": "high", "alert": true, "review": true, "break_glass": "granted"} if {
	allowed
} else := {"audit_level": "high", "alert": false, "review": true, "break_glass": "refused"} if {
	requested
}
