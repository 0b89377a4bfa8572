import { LitElement } from 'lit';

/** Components render into the light DOM: one stylesheet for the page, and labels and ids work across them. */
export class LightElement extends LitElement {
  protected override createRenderRoot(): HTMLElement {
    return this;
  }
}

/** Copies text and says so; the Clipboard API needs a secure context (localhost counts). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
