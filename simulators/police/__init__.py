"""Police: a legacy SOAP 1.1/XML nominal-record service with a WSDL."""
