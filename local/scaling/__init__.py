"""Created SageMaker endpoints and their scaling: instances, Application Auto Scaling on a virtual
clock, the player that applies its decisions, and the timeline the demo and the bench read."""
