"""Istio and OpenShift Service Mesh semantics over plain dict objects and a Snapshot, by topic.

Pure functions, no I/O, no wording of reasons (grader.text) and no object plumbing
(grader.objects). Every function tolerates ill-typed input: what it cannot read counts
as absent, and it never raises. Each rule cites the upstream source it follows (an
istio/api proto, a pilot source file, the maistra operator), next to the code.

- selectors: Kubernetes label selectors and DestinationRule subset labels
- workloads: pods, Deployments and ReplicaSets, the sidecar, the injection annotation
- hosts: host names as Istio resolves them
- gateways: Gateways, their hosts, ports and pods; how a VirtualService names them
- services: Services, the pods they select, their ports, the protocol Istio gives a port
- routing: VirtualService HTTP routes: the entry a request takes, destinations, weights
- destinationrules: DestinationRules for a host, subsets, TLS and connection pool policy
- faults: HTTP fault injection percentages as pilot computes them
- durations: protobuf durations
- mtls: the PeerAuthentication mode that applies
- membership: OpenShift Service Mesh 2.x member namespaces
"""
