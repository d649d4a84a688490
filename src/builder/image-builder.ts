/**
 * The controller's image builder (BuilderPort) over one engine: builds with buildImage on the
 * build network, and discards what a build that will never finish left (its work folder under
 * DATA_DIR/builds, its images).
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { LABELS } from "../domain/index.js";
import { removeImagesLabelled } from "../runtime/index.js";
import { type BuildImageOptions, buildImage } from "./build.js";
import type { BuilderPort, BuildRequest, BuildResult } from "./builder-port.js";

/** What every build of this builder shares; the rest comes with each request. */
export type BuildSettings = Pick<
  BuildImageOptions,
  "limits" | "images" | "allowFile" | "knownHostsFile"
>;

export interface ImageBuilderOptions {
  docker: Dockerode;
  /** Where builds check out (DATA_DIR/builds), one folder per build id. */
  workRoot: string;
  /** The network build steps run on (made on first use), under the isolation rules. */
  buildNetwork: () => Promise<string>;
  settings: BuildSettings;
  /**
   * BUILD_CA_BUNDLE: PEM certificates the build stages of generated Dockerfiles trust, read at
   * each build so that a renewed bundle is used without a restart.
   */
  caBundleFile?: string | undefined;
  logger?: Logger;
}

/** A build id is a UUID: never a path outside workRoot. */
const BUILD_ID = /^[0-9a-f-]{36}$/;

export class ImageBuilder implements BuilderPort {
  constructor(private readonly options: ImageBuilderOptions) {}

  async build(request: BuildRequest): Promise<BuildResult> {
    const { caBundleFile } = this.options;
    return buildImage({
      ...this.options.settings,
      ...(caBundleFile === undefined ? {} : { caBundle: await readFile(caBundleFile, "utf8") }),
      networkMode: await this.options.buildNetwork(),
      docker: this.options.docker,
      buildId: request.buildId,
      deploymentId: request.deploymentId,
      gitRepo: request.gitRepo,
      branch: request.branch,
      ...(request.commitSha ? { commitSha: request.commitSha } : {}),
      ...(request.rootDirectory ? { rootDirectory: request.rootDirectory } : {}),
      ...(request.dockerfilePath ? { dockerfilePath: request.dockerfilePath } : {}),
      workRoot: this.options.workRoot,
      ...(request.httpCredential ? { httpCredential: request.httpCredential } : {}),
      ...(request.sshKey ? { sshKey: request.sshKey } : {}),
      onLog: request.onLog,
      ...(request.signal ? { signal: request.signal } : {}),
    });
  }

  async discard(buildId: string): Promise<void> {
    if (!BUILD_ID.test(buildId)) return;
    await rm(join(this.options.workRoot, buildId), { recursive: true, force: true });
    await removeImagesLabelled(
      this.options.docker,
      `${LABELS.buildId}=${buildId}`,
      this.options.logger,
    );
  }
}
