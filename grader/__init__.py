"""lab: hands-on OpenShift Service Mesh / Istio labs with a live-cluster grader."""

__version__ = "0.1.0"
