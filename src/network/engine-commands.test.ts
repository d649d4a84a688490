import assert from "node:assert/strict";
import { test } from "node:test";
import { LABELS } from "../domain/labels.js";
import { containerIdFromMountinfo, helperSpec } from "./engine-commands.js";

const ID = "4613a29d368cbab9054f6a753f5fe0701f014551ed33c9af0a1d8e0482caded5";

test("this process's container id comes from the mount of /etc/hostname", () => {
  // As a container on this machine sees it (docker run … cat /proc/self/mountinfo).
  const inContainer = [
    "76 55 0:33 / / rw,relatime master:27 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A",
    `93 76 254:0 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw`,
    `94 76 254:0 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw`,
    "",
  ].join("\n");
  assert.equal(containerIdFromMountinfo(inContainer), ID);
  // Another data-root, on a file system of its own: the path is relative to its root.
  assert.equal(
    containerIdFromMountinfo(
      `94 76 0:50 /node2/containers/${ID}/hostname /etc/hostname rw - tmpfs t rw`,
    ),
    ID,
  );
  // The host itself; a volume that happens to hold a container's folder elsewhere.
  assert.equal(
    containerIdFromMountinfo("22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"),
    undefined,
  );
  assert.equal(
    containerIdFromMountinfo(
      `95 76 254:0 /var/lib/docker/containers/${ID}/hostname /data/hostname rw - ext4 /dev/vda rw`,
    ),
    undefined,
  );
});

test("the helper: the host's network, NET_ADMIN only, read-only, its spec hashed in a label", () => {
  const spec = helperSpec("obiente-network-isolation", "sha256:aaa");
  assert.equal(spec.HostConfig?.NetworkMode, "host");
  assert.deepEqual(spec.HostConfig?.CapDrop, ["ALL"]);
  assert.deepEqual(spec.HostConfig?.CapAdd, ["NET_ADMIN"]);
  assert.equal(spec.HostConfig?.Privileged, undefined);
  assert.equal(spec.HostConfig?.ReadonlyRootfs, true);
  assert.deepEqual(spec.HostConfig?.SecurityOpt, ["no-new-privileges:true"]);
  assert.equal(spec.User, "0:0");
  assert.deepEqual(spec.Healthcheck, { Test: ["NONE"] });
  assert.equal(spec.Labels?.[LABELS.component], "network-isolation");
  const same = helperSpec("obiente-network-isolation", "sha256:aaa");
  const other = helperSpec("obiente-network-isolation", "sha256:bbb");
  assert.equal(same.Labels?.[LABELS.spec], spec.Labels?.[LABELS.spec]);
  assert.notEqual(other.Labels?.[LABELS.spec], spec.Labels?.[LABELS.spec]);
});
