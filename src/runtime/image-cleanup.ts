/**
 * Removes images by label (a build's, a deployment's) from one engine: the one loop the builder's
 * discard, the single engine's and the Swarm's clean-up share.
 */
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { reasonOf, statusOf } from "./engine-errors.js";

/**
 * Removes every image that carries `label` ("key=value"), forced (an image a stopped container
 * still names goes too). Best effort: an image already gone is what was asked; any other failure
 * is logged with the image and the engine's reason, and the others are still removed.
 */
export async function removeImagesLabelled(
  docker: Dockerode,
  label: string,
  logger: Logger | undefined,
): Promise<void> {
  const images = await docker.listImages({ all: true, filters: { label: [label] } });
  await removeImages(
    docker,
    images.map((image) => image.Id),
    logger,
  );
}

/** Removes these images, forced; as removeImagesLabelled. */
export async function removeImages(
  docker: Dockerode,
  ids: readonly string[],
  logger: Logger | undefined,
): Promise<void> {
  for (const id of ids) {
    try {
      await docker.getImage(id).remove({ force: true });
    } catch (error) {
      if (statusOf(error) === 404) continue; // already gone
      logger?.warn({ image: id, reason: reasonOf(error) }, "removing an image failed");
    }
  }
}
