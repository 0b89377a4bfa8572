export { UsageRecorder, type UsageRecorderOptions, type UsageSample } from './usage-recorder.ts';
