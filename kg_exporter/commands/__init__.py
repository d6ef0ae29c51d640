"""One module per CLI command: the glue between parsed arguments and the pipeline stages."""
