# Purposes of use: which are recognised, and what each requires of a request
# (a legitimate relationship, consent). The catalogue is data.access.purposes.
package joinedup.purposes

known if data.access.purposes[input.purpose]

# What the declared purpose requires for one aspect ("relationship", "consent").
requirement(aspect) := data.access.purposes[input.purpose][aspect]
