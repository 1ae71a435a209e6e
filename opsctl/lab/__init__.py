"""The rehearsal lab: a local fleet of real SSH + Docker servers, a registry and an AWS endpoint.

Modules:
- names: fixed names, labels, image references and ports (the contract other code relies on);
- ports: port plan checks and "who holds this port";
- plan: what `lab up --hosts N` changes on an existing lab (pure);
- state: LabState and the files written to the lab dir (inventory, key, secrets, lab.json);
- credentials: the SSH key, the registry password and its htpasswd line;
- engine: the connection to this machine's Docker engine;
- images: debootstrap + docker import of the base image, the server and proxy images (cached);
- containers: the create arguments of the lab's containers (pure) and small archive helpers;
- aws: the moto server process;
- probes: readiness checks (SSH + inner docker, registry, moto);
- progress: Rich status on a terminal, plain `==>` lines in CI;
- fleet: up / down / status.
"""
