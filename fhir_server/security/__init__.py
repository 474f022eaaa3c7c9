"""Who may do what: bearer tokens, SMART scopes and roles, cross-origin access and protective response headers."""
