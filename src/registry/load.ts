import { RegistryData } from '../domain/index.ts';
import { createRegistry, type Registry } from './registry.ts';
import { loadYamlAs } from '../config/yaml-file.ts';

/** Loads wards, patients, devices and enrolments from a YAML or JSON seed file. */
export async function loadRegistryFile(path: string): Promise<{ data: RegistryData; registry: Registry }> {
  const data = await loadYamlAs(RegistryData, path);
  return { data, registry: createRegistry(data) };
}
