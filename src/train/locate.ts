/** Finding the model to load from what the user gave: a model folder, a checkpoint folder, or a train --out folder. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointDir, readPointer } from './checkpoint.js';
import { ModelDirError } from './model-io.js';

/** The folder holding model.json, and how it was chosen (for messages). */
export function locateModelDir(dir: string): { dir: string; how: string } {
  if (existsSync(join(dir, 'model.json'))) return { dir, how: 'model folder' };
  if (existsSync(join(dir, 'model', 'model.json'))) return { dir: join(dir, 'model'), how: 'the final model of a training run' };
  const last = existsSync(dir) ? readPointer(dir, 'last') : undefined;
  if (last) return { dir: checkpointDir(dir, last), how: `the last checkpoint of an unfinished run (epoch ${last.epoch})` };
  if (!existsSync(dir)) throw new ModelDirError(`${dir} does not exist`);
  if (existsSync(join(dir, '.previous-run', 'last.json'))) {
    throw new ModelDirError(`${dir}: a train --force run was killed before its first checkpoint; the previous run is in ${join(dir, '.previous-run')}: run train --resume --out ${dir} to put it back and continue it`);
  }
  throw new ModelDirError(`${dir} holds no model.json, model/ or last.json: give a model folder, a checkpoint folder or a train --out folder`);
}
