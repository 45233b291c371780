import { ConfigError } from '@medtune/kit';
import { describe, expect, it } from 'vitest';
import { loadTrainingConfig } from './config';

describe('training config: artifact root', () => {
  it('takes file:// and s3:// roots', () => {
    expect(loadTrainingConfig({ MEDTUNE_TRAINING_ARTIFACT_ROOT: 's3://medtune-artifacts/jobs' }).artifactRoot).toBe('s3://medtune-artifacts/jobs');
    expect(loadTrainingConfig({ MEDTUNE_TRAINING_ARTIFACT_ROOT: 'file:///srv/artifacts' }).artifactRoot).toBe('file:///srv/artifacts');
    expect(loadTrainingConfig({}).artifactRoot).toBeUndefined();
  });

  it.each([
    ['s3://Bad_Bucket/jobs', /valid bucket name/],
    ['s3://key:secret@bucket/jobs', /credentials/],
    ['s3://medtune/a/../b', /\.\./],
    ['file://host/srv', /local absolute path/],
    ['http://x/y', /expected a value matching/],
  ])('refuses %s naming MEDTUNE_TRAINING_ARTIFACT_ROOT', (root, problem) => {
    let err: unknown;
    try {
      loadTrainingConfig({ MEDTUNE_TRAINING_ARTIFACT_ROOT: root });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const p = (err as ConfigError).problems[0]!;
    expect(p.variable).toBe('MEDTUNE_TRAINING_ARTIFACT_ROOT');
    expect(p.problem).toMatch(problem);
    expect((err as Error).message).not.toContain('secret@');
  });
});
