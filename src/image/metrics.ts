import { Counter, Histogram, type Registry } from 'prom-client';

export class ImageMetrics {
  readonly pulls: Counter<'result'>;
  readonly pulledBytes: Counter;
  readonly pullDuration: Histogram<'result'>;

  constructor(registry: Registry) {
    this.pulls = new Counter({
      name: 'shoal_image_pulls_total',
      help: 'Image pulls finished, by result (success, failure).',
      labelNames: ['result'],
      registers: [registry],
    });
    this.pulledBytes = new Counter({
      name: 'shoal_image_pulled_bytes_total',
      help: 'Compressed layer bytes downloaded from registries.',
      registers: [registry],
    });
    this.pullDuration = new Histogram({
      name: 'shoal_image_pull_duration_seconds',
      help: 'Time from PullImage received to the image record committed.',
      labelNames: ['result'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    });
  }
}
