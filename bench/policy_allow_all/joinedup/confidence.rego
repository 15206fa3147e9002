# Bench-only allow-all: every match confidence is sufficient (see decision.rego beside
# this file). Without this package the embedded engine cannot classify matches and
# fails closed: every section is withheld and the baseline reads nothing.
package joinedup.confidence

classes := ["sufficient" | some _ in input.matches]
