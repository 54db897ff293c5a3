/**
 * The Stream* RPCs answer what the List* ones do, split so no single message nears the gRPC size
 * limit; an empty result is still one (empty) message, so clients see a well-formed answer.
 */
export function* chunks<T>(items: T[], size = 100): Generator<T[]> {
  if (items.length === 0) {
    yield [];
    return;
  }
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
