// `GET /machine/?comp=goalstate` (wire-protocol.md §5.1). Lookups are by tag name anywhere, first match wins.
import { z } from 'zod';
import { ProtocolError } from '../../errors.js';
import type { WireGoalState } from '../goal-state.js';
import { findFirst, findText, parseXml } from '../xml.js';
import { validate } from './validate.js';

const DOC = 'GoalState';

/** The goal state had no RoleInstance; upstream re-fetches it (6 attempts, 0.5 s apart) before failing. */
export class MissingRoleInstanceError extends ProtocolError {
  readonly incarnation: string | null;
  constructor(incarnation: string | null) {
    super(`Fetched goal state without a RoleInstance [incarnation ${incarnation ?? 'unknown'}]`, {
      code: 'WAA_PROTOCOL_PARSE',
      retryable: true,
    });
    this.name = 'MissingRoleInstanceError';
    this.incarnation = incarnation;
  }
}

const required = z.string().min(1);
const optional = z.string().min(1).nullable();

// Keys are the XML paths, so a validation error names the element.
const schema = z.object({
  Incarnation: required,
  'Container/ContainerId': required,
  'RoleInstance/InstanceId': required,
  'RoleInstance/Configuration/ConfigName': required,
  HostingEnvironmentConfig: required,
  SharedConfig: required,
  ExtensionsConfig: optional,
  Certificates: optional,
  'Container/RemoteAccessInfo': optional,
});

export function parseGoalState(xml: string): WireGoalState {
  const root = parseXml(xml, DOC);
  const incarnation = findText(root, 'Incarnation');
  const roleInstance = findFirst(root, 'RoleInstance');
  if (!roleInstance) throw new MissingRoleInstanceError(incarnation);
  const container = findFirst(root, 'Container');
  const v = validate(
    schema,
    {
      Incarnation: incarnation,
      'Container/ContainerId': findText(container, 'ContainerId'),
      'RoleInstance/InstanceId': findText(roleInstance, 'InstanceId'),
      'RoleInstance/Configuration/ConfigName': findText(findFirst(roleInstance, 'Configuration'), 'ConfigName'),
      HostingEnvironmentConfig: findText(root, 'HostingEnvironmentConfig'),
      SharedConfig: findText(root, 'SharedConfig'),
      ExtensionsConfig: findText(root, 'ExtensionsConfig'),
      Certificates: findText(root, 'Certificates'),
      'Container/RemoteAccessInfo': findText(container, 'RemoteAccessInfo'),
    },
    DOC,
  );
  return Object.freeze({
    incarnation: v.Incarnation,
    containerId: v['Container/ContainerId'],
    roleInstanceId: v['RoleInstance/InstanceId'],
    roleConfigName: v['RoleInstance/Configuration/ConfigName'],
    hostingEnvironmentConfigUrl: v.HostingEnvironmentConfig,
    sharedConfigUrl: v.SharedConfig,
    extensionsConfigUrl: v.ExtensionsConfig,
    certificatesUrl: v.Certificates,
    remoteAccessInfoUrl: v['Container/RemoteAccessInfo'],
  });
}
