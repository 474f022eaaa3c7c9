"""One module per code system; each builds a :class:`terminology.codesystem.CodeSystem` offline."""
