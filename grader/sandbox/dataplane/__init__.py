"""The sandbox's data plane: one process that plays the ingress gateway, the sidecars and the pods' apps.

It reads Gateways, VirtualServices, DestinationRules, PeerAuthentications, Services, Pods and
Endpoints from the API server (watches, no polling) and serves HTTP/1.1 on loopback as Envoy would
under that configuration (istiod's translation, Envoy's behaviour). It is an independent reading of
Istio's documented semantics: it imports nothing from grader.mesh* or grader.checks.

Conventions (documented in the README):
- every response from an app names the pod that answered in the `x-lab-pod` header
  (and `x-lab-pod-namespace`);
- a pod's app can be told to misbehave with annotations: `lab.grader/respond: "503"` (answer that
  status), `lab.grader/delay: "2s"` (answer after that long), `lab.grader/delay-paths: "/ /index.html"`
  (only requests for these paths are delayed; others are answered at once);
- the app's body is what its image serves: nginx's welcome page for nginx images, the helloworld
  sample's line for its images, otherwise one line naming the pod.
"""

POD_HEADER = "x-lab-pod"
POD_NS_HEADER = "x-lab-pod-namespace"
FROM_HEADER = "x-lab-from"          # lab sandbox curl --from NS/POD (mesh listener only)
RESPOND_ANNOTATION = "lab.grader/respond"
DELAY_ANNOTATION = "lab.grader/delay"
DELAY_PATHS_ANNOTATION = "lab.grader/delay-paths"
