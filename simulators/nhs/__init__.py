"""The NHS: a FHIR R4 REST server (Patient, Encounter, Flag, Condition)."""
