/**
 * Runs a command in a running container (`docker exec`, no shell unless the command is one) and
 * returns its exit code and what it printed, stdout and stderr together.
 */
import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";

export async function execIn(
  docker: Dockerode,
  containerId: string,
  cmd: string[],
): Promise<{ exitCode: number | null; output: string }> {
  const execution = await docker
    .getContainer(containerId)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await execution.start({ hijack: true, stdin: false });
  let output = "";
  const sink = new PassThrough();
  sink.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  const { ExitCode } = await execution.inspect();
  return { exitCode: ExitCode, output };
}
