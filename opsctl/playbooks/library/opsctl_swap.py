#!/usr/bin/python3
"""Ansible module: replace one host's containers of an app with those of a new release.

For every service on the host it starts the new containers next to the old ones, waits until
they are healthy (HTTP services) or have stayed up through the monitor window (other services),
switches the host's proxy to the new HTTP containers with a graceful nginx reload, waits for
in-flight requests to drain, then stops the old containers. Singletons are stopped before their
replacement starts, since two must never run at once. If anything fails before the switch, the
new containers are removed and the host is left exactly as it was.

Every docker call is an argument list; no shell is involved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_host import http_ok, write_atomic

LABEL = "opsctl"

# Runs detached after the switch: waits for in-flight requests to drain, then stops the old
# containers. The next batch does not wait for it; the rollout's last play does (opsctl_state).
RETIRE = """
import json, os, subprocess, sys, time
job = json.loads(sys.argv[1])
time.sleep(job["drain"])
failed = []
for name, timeout in job["containers"]:
    subprocess.run(["docker", "stop", "-t", str(int(timeout)), name], capture_output=True)
    if subprocess.run(["docker", "rm", "-f", name], capture_output=True).returncode != 0:
        failed.append(name)
with open(job["pending"], "w") as handle:
    json.dump({"failed": failed, "stopped": [n for n, _ in job["containers"]]}, handle)
os.replace(job["pending"], job["done"])
"""


class SwapError(Exception):
    pass


class Docker:
    def __init__(self, module):
        self.module = module

    def run(self, *args, check=True):
        rc, out, err = self.module.run_command(["docker", *args])
        if check and rc != 0:
            raise SwapError("docker %s failed: %s" % (args[0], (err or out).strip()[-2000:]))
        return rc, out.strip(), err.strip()

    def containers(self, labels):
        filters = []
        for key, value in labels.items():
            filters += ["--filter", "label=%s.%s=%s" % (LABEL, key, value)]
        _, out, _ = self.run("ps", "-a", "--no-trunc", "--format", "{{.Names}}", *filters)
        return [line for line in out.splitlines() if line]

    def inspect(self, name):
        rc, out, _ = self.run("inspect", name, check=False)
        if rc != 0:
            return None
        return json.loads(out)[0]

    def remove(self, name, stop_timeout):
        # stop first so the app gets SIGTERM and its stop_timeout; rm -f alone would SIGKILL.
        self.run("stop", "-t", str(int(stop_timeout)), name, check=False)
        self.run("rm", "-f", name, check=False)


def container_ip(info, network):
    networks = info.get("NetworkSettings", {}).get("Networks", {})
    if network in networks:
        return networks[network].get("IPAddress")
    for net in networks.values():
        if net.get("IPAddress"):
            return net["IPAddress"]
    return None


class Swap:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.docker = Docker(module)
        self.started = []
        self.events = []

    def log(self, message):
        self.events.append("%.2fs %s" % (time.monotonic() - self.t0, message))

    def base_labels(self):
        return {"app": self.p["app"], "env": self.p["env"]}

    def ensure_image(self):
        rc, _, _ = self.docker.run("image", "inspect", "--format", "{{.Id}}", self.p["image"], check=False)
        if rc == 0:
            return False
        if not self.p["pull_missing"]:
            raise SwapError("image %s is not on this host" % self.p["image"])
        self.docker.run("pull", "--quiet", self.p["image"])
        return True

    def ensure_network(self):
        network = self.p["network"]
        rc, _, _ = self.docker.run("network", "inspect", network, check=False)
        if rc != 0:
            self.docker.run("network", "create", "--label", "%s.app=%s" % (LABEL, self.p["app"]), network)

    def ensure_proxy(self):
        proxy = self.p["proxy"]
        if not proxy:
            return
        info = self.docker.inspect(proxy["name"])
        if info and info["State"]["Running"]:
            return
        if info:
            self.docker.run("rm", "-f", proxy["name"])
        args = [
            "run", "-d", "--name", proxy["name"], "--network", self.p["network"],
            "--restart", "unless-stopped",
            "--label", "%s.app=%s" % (LABEL, self.p["app"]),
            "--label", "%s.env=%s" % (LABEL, self.p["env"]),
            "--label", "%s.role=proxy" % LABEL,
            "-v", "%s:/etc/nginx/opsctl:ro" % proxy["conf_dir"],
        ]
        for port in proxy["ports"]:
            args += ["-p", "%d:%d" % (port, port)]
        args += [proxy["image"], "nginx", "-c", "/etc/nginx/opsctl/nginx.conf", "-g", "daemon off;"]
        self.docker.run(*args)
        self.log("started proxy %s" % proxy["name"])

    def reload_proxy(self):
        name = self.p["proxy"]["name"]
        conf = "/etc/nginx/opsctl/nginx.conf"
        rc, out, err = self.docker.run("exec", name, "nginx", "-t", "-q", "-c", conf, check=False)
        if rc != 0:
            raise SwapError("proxy config test failed: %s" % (err or out)[-1500:])
        self.docker.run("exec", name, "nginx", "-c", conf, "-s", "reload")

    def start(self, service, replica):
        # Names come from the planner and are unique per rollout run, so an existing one can only
        # be refused, never replaced.
        name = service["names"][replica - 1]
        labels = dict(self.base_labels(), service=service["name"], release=str(self.p["release"]),
                      version=self.p["version"], replica=str(replica))
        args = ["run", "-d", "--name", name, "--network", self.p["network"],
                "--restart", "unless-stopped", "--log-opt", "max-size=10m", "--log-opt", "max-file=3"]
        for key, value in sorted(labels.items()):
            args += ["--label", "%s.%s=%s" % (LABEL, key, value)]
        if self.p["env_file"]:
            args += ["--env-file", self.p["env_file"]]
        extra = dict(self.p["extra_env"] or {}, OPSCTL_SERVICE=service["name"], OPSCTL_REPLICA=str(replica))
        if service.get("port"):
            extra["PORT"] = str(service["port"])
        for key, value in sorted(extra.items()):
            args += ["-e", "%s=%s" % (key, value)]
        args.append(self.p["image"])
        args += service.get("command") or []
        self.docker.run(*args)
        self.started.append(name)
        return name

    def wait_healthy(self, service, name):
        health = service["health"]
        deadline_tries = int(health["retries"])
        ip = None
        for attempt in range(deadline_tries):
            info = self.docker.inspect(name)
            if info is None or not info["State"]["Running"]:
                raise SwapError("%s exited before it became healthy%s" % (name, self.tail(name)))
            ip = ip or container_ip(info, self.p["network"])
            if ip and http_ok("http://%s:%d%s" % (ip, service["port"], health["path"]), health["timeout"]):
                return
            if attempt + 1 < deadline_tries:
                time.sleep(health["interval"])
        raise SwapError("%s did not pass its health check %s after %d tries%s"
                        % (name, health["path"], deadline_tries, self.tail(name)))

    def wait_stays_up(self, name):
        deadline = time.monotonic() + self.p["monitor"]
        while True:
            info = self.docker.inspect(name)
            if info is None or not info["State"]["Running"] or info.get("RestartCount", 0) > 0:
                raise SwapError("%s did not stay up through the %.1fs monitor window%s"
                                % (name, self.p["monitor"], self.tail(name)))
            if time.monotonic() >= deadline:
                return
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def tail(self, name):
        rc, out, err = self.docker.run("logs", "--tail", "15", name, check=False)
        text = (out + "\n" + err).strip()
        return (":\n" + text[-1500:]) if text else ""

    def verify_through_proxy(self, service):
        url = "http://127.0.0.1:%d%s" % (service["ingress_port"], service["health"]["path"])
        for _ in range(20):
            if http_ok(url, 2):
                return
            time.sleep(0.1)
        raise SwapError("the proxy does not answer %s after the switch" % url)

    def run(self):
        self.t0 = time.monotonic()
        services = self.p["services"]
        old = {s["name"]: self.docker.containers(dict(self.base_labels(), service=s["name"])) for s in services}
        pulled = self.ensure_image()
        self.ensure_network()

        # Services this host must not run (e.g. a singleton placed elsewhere) just go away.
        absent = [s for s in services if s["mode"] == "absent"]
        running = [s for s in services if s["mode"] != "absent"]
        for s in running:
            if s["mode"] == "singleton":
                for name in old[s["name"]]:
                    self.docker.remove(name, s["stop_timeout"])
                old[s["name"]] = []

        plan = [(s, i) for s in running for i in range(1, int(s["replicas"]) + 1)]
        try:
            with ThreadPoolExecutor(max_workers=max(1, len(plan))) as pool:
                names = list(pool.map(lambda item: self.start(*item), plan))
            self.log("started %s" % ", ".join(names))
            checks = []
            for (service, _), name in zip(plan, names):
                if service["mode"] == "http":
                    checks.append((self.wait_healthy, service, name))
                else:
                    checks.append((lambda _s, n: self.wait_stays_up(n), service, name))
            with ThreadPoolExecutor(max_workers=max(1, len(checks))) as pool:
                for future in [pool.submit(fn, s, n) for fn, s, n in checks]:
                    future.result()
            self.log("new containers healthy")
            http = [s for s in running if s["mode"] == "http"]
            if http and self.p["proxy"]:
                self.ensure_proxy()
                previous = {}
                for s in http:
                    path = s["upstream_file"]
                    previous[path] = open(path).read() if os.path.exists(path) else None
                    write_atomic(path, s["upstream_conf"])
                try:
                    self.reload_proxy()
                    for s in http:
                        self.verify_through_proxy(s)
                except SwapError:
                    for path, content in previous.items():
                        if content is None:
                            os.unlink(path)
                        else:
                            write_atomic(path, content)
                    self.reload_proxy()
                    raise
                self.log("proxy switched")
        except SwapError:
            for name in self.started:
                self.docker.run("rm", "-f", name, check=False)
            raise

        stop_timeout = {s["name"]: s["stop_timeout"] for s in services}
        gone = [(name, s["name"]) for s in running for name in old[s["name"]]]
        gone += [(name, s["name"]) for s in absent for name in old[s["name"]]]
        dropped = False
        for s in absent:
            if s.get("upstream_file") and os.path.exists(s["upstream_file"]):
                os.unlink(s["upstream_file"])
                dropped = True
        if dropped and self.p["proxy"] and self.docker.inspect(self.p["proxy"]["name"]):
            self.reload_proxy()
        drain = self.p["drain"] if any(old[s["name"]] for s in running if s["mode"] == "http") else 0
        self.retire_later([(name, stop_timeout[service]) for name, service in gone], drain)
        if gone:
            self.log("retiring %s after a %.1fs drain" % (", ".join(name for name, _ in gone), drain))
        return dict(changed=True, started=self.started, retiring=[n for n, _ in gone], pulled=pulled,
                    timeline=self.events)

    def retire_later(self, containers, drain):
        directory = os.path.join(self.p["state_dir"], "retire")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        pending = os.path.join(directory, "%s.pending" % self.p["run_id"])
        done = os.path.join(directory, "%s.done" % self.p["run_id"])
        with open(pending, "w") as handle:
            json.dump({"containers": containers}, handle)
        job = json.dumps({"drain": drain, "containers": containers, "pending": pending, "done": done})
        subprocess.Popen(
            [sys.executable, "-c", RETIRE, job],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=True, start_new_session=True,
        )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            env=dict(type="str", required=True),
            release=dict(type="int", required=True),
            version=dict(type="str", required=True),
            image=dict(type="str", required=True),
            network=dict(type="str", required=True),
            env_file=dict(type="str", default=None),
            extra_env=dict(type="dict", default={}),
            services=dict(type="list", elements="dict", required=True),
            proxy=dict(type="dict", default=None),
            monitor=dict(type="float", default=2.0),
            drain=dict(type="float", default=1.0),
            pull_missing=dict(type="bool", default=True),
            state_dir=dict(type="str", required=True),
            run_id=dict(type="str", required=True),
        ),
        supports_check_mode=False,
    )
    swap = Swap(module)
    try:
        result = swap.run()
    except SwapError as exc:
        module.fail_json(msg=str(exc), timeline=swap.events)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
