import { Container, ContainerState, ListContainersResponse } from '../../src/gen/runtime/v1/api';
import { EncodingCache, repeatedMessageField } from '../../src/server/pre_encoded';

const container = (i: number, labels: Record<string, string> = {}): Container =>
  Container.fromPartial({ id: `c${i}`, podSandboxId: 'p', metadata: { name: `n${i}`, attempt: i }, state: ContainerState.CONTAINER_RUNNING, createdAt: BigInt(i), labels });

test('concatenated item encodings decode as the whole message, also for items over 127 and 16383 bytes', () => {
  const items = [container(1), container(2, { big: 'x'.repeat(200) }), container(3, { huge: 'y'.repeat(20_000) }), container(4)];
  const wire = repeatedMessageField<ListContainersResponse>(1, items.map((c) => Container.encode(c).finish()));
  expect(ListContainersResponse.decode(wire.bytes)).toEqual({ containers: items });
  expect(Buffer.from(wire.bytes)).toEqual(Buffer.from(ListContainersResponse.encode({ containers: items }).finish()));
  expect(repeatedMessageField(1, []).bytes.length).toBe(0);
});

test('an encoding is reused while its version holds and redone when it changes', () => {
  const item = { state: 1, encodes: 0 };
  const cache = new EncodingCache<typeof item, number>(
    (i) => i.state,
    (i) => {
      i.encodes++;
      return Uint8Array.of(i.state);
    },
  );
  expect(cache.get(item)).toEqual(Uint8Array.of(1));
  expect(cache.get(item)).toEqual(Uint8Array.of(1));
  expect(item.encodes).toBe(1);
  item.state = 2;
  expect(cache.get(item)).toEqual(Uint8Array.of(2));
  expect(item.encodes).toBe(2);
});
