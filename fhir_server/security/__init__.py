"""What a browser and the network may do with the server: cross-origin access and protective response headers."""
