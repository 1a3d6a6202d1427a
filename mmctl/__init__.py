"""mmctl: the operator's command line for a Metadata Manager stage (not packaged into the Lambda)."""
