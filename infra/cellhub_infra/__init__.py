"""The hub's AWS CDK app: one stage config, constructs per concern, a stack that wires them."""
