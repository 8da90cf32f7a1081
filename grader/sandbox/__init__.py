"""`lab sandbox`: a real Kubernetes control plane on loopback plus small simulators
that play the parts of nodes, OLM and the OpenShift Service Mesh operator."""
