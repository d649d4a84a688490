/**
 * The small HTML pages an edge answers with itself: no deployment at this host (404), or a
 * deployment that has no live replica or whose replicas fail (502).
 */

export function noDeploymentPage(host: string): string {
  return page("No deployment here", `No deployment at ${escapeHtml(host)}`);
}

export function notRunningPage(host: string): string {
  return page(
    "Not running",
    `${escapeHtml(host)} is not running right now`,
    "The deployment has no healthy replica at the moment. Try again shortly.",
  );
}

function page(title: string, heading: string, detail = ""): string {
  const paragraph = detail === "" ? "" : `<p>${detail}</p>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${heading}</h1>${paragraph}</body></html>\n`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
