import { AppError } from '../../domain/shared/errors.ts';

import { API_VERSIONS } from '../../domain/shared/api-versions.ts';

/** API versions Stoa serves, oldest first. The newest stable one is the default. */
export { API_VERSIONS };
export type ApiVersion = (typeof API_VERSIONS)[number];
export const LATEST_VERSION: ApiVersion = '2';

export const VENDOR_MEDIA_TYPE = /^application\/vnd\.stoa\.v([^+;\s]+)\+json$/i;

export type VersionSource = 'path' | 'media-type' | 'header' | 'query' | 'api-key' | 'default';

export interface VersionChoice {
  version: ApiVersion;
  source: VersionSource;
  /** The vendor media type to answer with, when the client asked by media type. */
  mediaType?: string | undefined;
}

export interface VersionInputs {
  /** The version in the URL (`/v1/…`), when there is one. */
  path?: string | undefined;
  /** The Accept header. */
  accept?: string | undefined;
  /** The Stoa-Version header. */
  header?: string | undefined;
  /** The `version` query parameter. */
  query?: string | undefined;
  /** The version the caller's API key is pinned to. */
  pinned?: string | null | undefined;
}

function isVersion(value: string): value is ApiVersion {
  return (API_VERSIONS as readonly string[]).includes(value);
}

function unsupported(code: 'INVALID_HEADER' | 'NOT_ACCEPTABLE' | 'INVALID_PARAMETER', where: string, value: string): AppError {
  return new AppError(code, `API version "${value.slice(0, 20)}" requested by ${where} is not supported; supported versions: ${API_VERSIONS.join(', ')}`, {
    extensions: { supported_versions: [...API_VERSIONS] },
  });
}

/**
 * Chooses the version of a request. A versioned path wins; an unversioned one
 * follows, in order: the vendor media type in Accept, the Stoa-Version header,
 * the `version` query parameter, the API key's pinned version, the latest.
 * An unsupported version asked for explicitly is an error, never silently
 * another version (406 for the media type, 400 otherwise).
 */
export function chooseVersion(inputs: VersionInputs): VersionChoice {
  if (inputs.path !== undefined) {
    if (!isVersion(inputs.path)) throw unsupported('INVALID_PARAMETER', 'the URL', inputs.path);
    return { version: inputs.path, source: 'path' };
  }
  if (inputs.accept) {
    for (const range of inputs.accept.split(',')) {
      const type = range.split(';')[0]!.trim();
      const m = VENDOR_MEDIA_TYPE.exec(type);
      if (!m) continue;
      if (!isVersion(m[1]!)) throw unsupported('NOT_ACCEPTABLE', 'the Accept media type', m[1]!);
      return { version: m[1]!, source: 'media-type', mediaType: `application/vnd.stoa.v${m[1]}+json` };
    }
  }
  if (inputs.header !== undefined) {
    const value = inputs.header.trim();
    if (!isVersion(value)) throw unsupported('INVALID_HEADER', 'the Stoa-Version header', value);
    return { version: value, source: 'header' };
  }
  if (inputs.query !== undefined) {
    if (!isVersion(inputs.query)) throw unsupported('INVALID_PARAMETER', 'the version parameter', inputs.query);
    return { version: inputs.query, source: 'query' };
  }
  if (inputs.pinned && isVersion(inputs.pinned)) return { version: inputs.pinned, source: 'api-key' };
  return { version: LATEST_VERSION, source: 'default' };
}
