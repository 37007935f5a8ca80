"""Lambda functions the airstack program packages (each subpackage is one function's code)."""
